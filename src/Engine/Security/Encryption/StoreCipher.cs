using System.Security.Cryptography;

namespace Serverless.Engine.Security.Encryption;

/// <summary>
/// A store's data key: the AES-256 key that every file, record and device sector of the store is encrypted with
/// (AES-256-GCM). It exists in clear only in memory; on disk it is wrapped by the master key (<see cref="StoreKeyFile"/>).
/// </summary>
public sealed class StoreCipher
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int TagSize = 16;

    private readonly byte[] _key;

    private StoreCipher(byte[] key)
    {
        if (key.Length != KeySize) throw new ArgumentException("A data key is 32 bytes.", nameof(key));
        _key = key;
    }

    /// <summary>A cipher over the given 32-byte data key.</summary>
    public static StoreCipher FromKey(ReadOnlySpan<byte> key) => new(key.ToArray());

    /// <summary>A cipher over a fresh random key that is never written anywhere (memory-only stores, temporary spill files).</summary>
    public static StoreCipher Ephemeral() => new(RandomNumberGenerator.GetBytes(KeySize));

    internal ReadOnlySpan<byte> Key => _key;

    /// <summary>A new AES-GCM instance over the data key. Instances are not thread-safe: one per writer or per thread.</summary>
    public AesGcm NewAesGcm() => new(_key, TagSize);
}
