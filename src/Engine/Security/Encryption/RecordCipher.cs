using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Serverless.Engine.Security.Encryption;

/// <summary>
/// Seals and opens change-log records (AES-256-GCM, in place). Not thread-safe: the change log owns one and uses
/// it under its append lock; readers take one per thread (<see cref="ForThread"/>).
/// Nonces: an 8-byte random prefix drawn when the cipher is created (and again whenever the 32-bit counter
/// wraps) followed by the counter, so a nonce never repeats under a data key, even when a torn tail's sequence
/// numbers are reused after a crash or an instance restarts from blob storage.
/// </summary>
public sealed class RecordCipher : IDisposable
{
    [ThreadStatic]
    private static RecordCipher? t_reader;

    private readonly AesGcm _gcm;
    private readonly byte[] _prefix = new byte[8];
    private uint _counter;

    public RecordCipher(StoreCipher store)
    {
        Owner = store;
        _gcm = store.NewAesGcm();
        RandomNumberGenerator.Fill(_prefix);
    }

    /// <summary>With a fixed nonce prefix and counter: golden tests only.</summary>
    internal RecordCipher(StoreCipher store, ReadOnlySpan<byte> prefix, uint counter)
    {
        Owner = store;
        _gcm = store.NewAesGcm();
        prefix.CopyTo(_prefix);
        _counter = counter;
    }

    public StoreCipher Owner { get; }

    /// <summary>This thread's reader for <paramref name="store"/> (allocated once per thread and store).</summary>
    public static RecordCipher ForThread(StoreCipher store)
    {
        var cached = t_reader;
        if (cached != null && cached.Owner == store) return cached;
        // Not disposed: a caller further up this thread may still hold it (its handle is released when collected).
        return t_reader = new RecordCipher(store);
    }

    /// <summary>Writes a fresh nonce to <paramref name="nonce"/> and encrypts <paramref name="data"/> in place.</summary>
    public void Seal(Span<byte> nonce, Span<byte> data, Span<byte> tag, ReadOnlySpan<byte> associated)
    {
        if (_counter == uint.MaxValue)
        {
            RandomNumberGenerator.Fill(_prefix);
            _counter = 0;
        }

        _prefix.CopyTo(nonce);
        BinaryPrimitives.WriteUInt32LittleEndian(nonce[8..], _counter++);
        _gcm.Encrypt(nonce, data, data, tag, associated);
    }

    /// <summary>Decrypts <paramref name="data"/> in place; false (and the data zeroed) when it fails authentication.</summary>
    public bool TryOpen(ReadOnlySpan<byte> nonce, Span<byte> data, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associated)
    {
        try
        {
            _gcm.Decrypt(nonce, data, tag, data, associated);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    public void Dispose() => _gcm.Dispose();
}
