using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Serverless.Engine.Security.Encryption;

/// <summary>What a sealed file holds; in the associated data, so one kind of file can never pass for another.</summary>
public enum SealedKind : byte
{
    Snapshot = 1,
    Backup = 2,
    Manifest = 3,
    TransactionTokens = 4,
    TriggerCheckpoint = 5,

    /// <summary>The DAX control plane's clusters and parameter groups (src/Engine/Cache/DaxState.cs).</summary>
    DaxState = 9,
    KinesisCatalog = 12,
    KinesisDeliveryCheckpoint = 13,

    /// <summary>An export's record (src/Engine/Exports: <c>{data}/exports/{id}.json</c>, and <c>jobs/exports/</c> in blob storage).</summary>
    ExportRecord = 16,

    /// <summary>An import's record (<c>{data}/imports/{id}.json</c>, and <c>jobs/imports/</c> in blob storage).</summary>
    ImportRecord = 17,

    /// <summary>A checkpoint's item-collection sizes of one table (src/Engine/Storage/Index/IndexCheckpoint.cs).</summary>
    IndexCollections = 20,

    /// <summary>A cross-partition transaction's commit record (src/Engine/Partitioning/Transactions: <c>{data}/twopc/{id}.commit</c>).</summary>
    CommitRecord = 21,
}

/// <summary>
/// A whole file encrypted with the store's data key, in chunks so that large files (snapshots, backups) stream.
/// Format, guarded by a golden test:
/// <code>
///   header: "DDBSEAL1" | u8 kind | u8 0 | u16 0 | 8-byte random salt                              (20 bytes)
///   chunks: u32 length (LE; bit 31 set on the last chunk) | length bytes AES-256-GCM ciphertext | 16-byte tag
///   nonce of chunk i: salt | u32 i (LE); associated data: header | u32 i (LE) | the u32 length word
/// </code>
/// Chunks hold at most 64 KiB. Every file ends with a chunk marked last (possibly empty), so a truncation at a
/// chunk boundary is detected as surely as a flipped byte (tag failure); either is reported naming the file.
/// A salt is drawn for every file written, so no nonce repeats under a key (2^64 salts; chunks count within a file).
/// </summary>
public static class SealedFile
{
    public const int HeaderSize = 20;
    public const int ChunkBytes = 64 * 1024;
    internal const uint LastFlag = 0x8000_0000;
    private static readonly byte[] Magic = "DDBSEAL1"u8.ToArray();

    /// <summary>Encrypts <paramref name="plaintext"/> into a sealed file image.</summary>
    public static byte[] Seal(StoreCipher cipher, SealedKind kind, ReadOnlySpan<byte> plaintext)
    {
        using var output = new MemoryStream(HeaderSize + plaintext.Length + (plaintext.Length / ChunkBytes + 1) * 20);
        using (var writer = new SealedFileWriter(output, cipher, kind, leaveOpen: true))
        {
            writer.Write(plaintext);
            writer.Finish();
        }

        return output.ToArray();
    }

    /// <summary>Seals <paramref name="plaintext"/> into <paramref name="path"/> durably: a temporary file, fsynced, renamed into place.</summary>
    public static void WriteAtomically(string path, StoreCipher cipher, SealedKind kind, ReadOnlySpan<byte> plaintext)
    {
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            fs.Write(Seal(cipher, kind, plaintext));
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads and decrypts a sealed file; a damaged, truncated or foreign file throws naming it.</summary>
    public static byte[] ReadFile(string path, StoreCipher cipher, SealedKind kind) => Open(File.ReadAllBytes(path), cipher, kind, path);

    /// <summary>Decrypts a sealed file image; <paramref name="name"/> names it in the error when it is damaged.</summary>
    public static byte[] Open(ReadOnlySpan<byte> data, StoreCipher cipher, SealedKind kind, string name)
    {
        if (data.Length < HeaderSize || !data.StartsWith(Magic) || data[8] != (byte)kind)
            throw Corrupt(name, data.Length < HeaderSize || !data.StartsWith(Magic) ? "it is not an encrypted store file" : $"it is not a {kind} file");
        var header = data[..HeaderSize];
        var plain = new byte[Math.Max(0, data.Length - HeaderSize)];
        var written = 0;
        Span<byte> nonce = stackalloc byte[StoreCipher.NonceSize];
        Span<byte> aad = stackalloc byte[HeaderSize + 8];
        header.CopyTo(aad);
        header[12..].CopyTo(nonce);
        using var gcm = cipher.NewAesGcm();
        var pos = HeaderSize;
        for (uint index = 0; ; index++)
        {
            if (data.Length - pos < 4 + StoreCipher.TagSize) throw Corrupt(name, $"it is truncated at byte {pos}");
            var word = BinaryPrimitives.ReadUInt32LittleEndian(data[pos..]);
            var length = (int)(word & ~LastFlag);
            if (length > ChunkBytes || data.Length - pos - 4 - StoreCipher.TagSize < length) throw Corrupt(name, $"chunk {index} at byte {pos} is damaged or truncated");
            BinaryPrimitives.WriteUInt32LittleEndian(nonce[8..], index);
            BinaryPrimitives.WriteUInt32LittleEndian(aad[HeaderSize..], index);
            BinaryPrimitives.WriteUInt32LittleEndian(aad[(HeaderSize + 4)..], word);
            try
            {
                gcm.Decrypt(nonce, data.Slice(pos + 4, length), data.Slice(pos + 4 + length, StoreCipher.TagSize), plain.AsSpan(written, length), aad);
            }
            catch (AuthenticationTagMismatchException)
            {
                throw Corrupt(name, $"chunk {index} at byte {pos} fails authentication (tampered, damaged, or written with another key)");
            }

            written += length;
            pos += 4 + length + StoreCipher.TagSize;
            if ((word & LastFlag) != 0) break;
        }

        if (pos != data.Length) throw Corrupt(name, $"it has {data.Length - pos} bytes after its last chunk");
        return written == plain.Length ? plain : plain[..written];
    }

    internal static InvalidDataException Corrupt(string name, string why) => new($"The file {name} is corrupt: {why}. It is not used.");

    internal static void WriteHeader(Span<byte> header, SealedKind kind, ReadOnlySpan<byte> salt)
    {
        Magic.CopyTo(header);
        header[8] = (byte)kind;
        header[9] = 0;
        header[10] = 0;
        header[11] = 0;
        salt.CopyTo(header[12..]);
    }

    internal static void SealChunk(AesGcm gcm, ReadOnlySpan<byte> header, uint index, bool last, ReadOnlySpan<byte> plain, Span<byte> output)
    {
        var word = (uint)plain.Length | (last ? LastFlag : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(output, word);
        Span<byte> nonce = stackalloc byte[StoreCipher.NonceSize];
        header[12..].CopyTo(nonce);
        BinaryPrimitives.WriteUInt32LittleEndian(nonce[8..], index);
        Span<byte> aad = stackalloc byte[HeaderSize + 8];
        header.CopyTo(aad);
        BinaryPrimitives.WriteUInt32LittleEndian(aad[HeaderSize..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(aad[(HeaderSize + 4)..], word);
        gcm.Encrypt(nonce, plain, output.Slice(4, plain.Length), output.Slice(4 + plain.Length, StoreCipher.TagSize), aad);
    }
}

/// <summary>
/// Writes a <see cref="SealedFile"/> as a stream: 64 KiB chunks as they fill, the last chunk on <see cref="Finish"/>.
/// Disposing without <see cref="Finish"/> (a failed write) leaves a file without a last chunk, which never reads as complete.
/// </summary>
public sealed class SealedFileWriter : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly AesGcm _gcm;
    private readonly byte[] _header = new byte[SealedFile.HeaderSize];
    private readonly byte[] _plain = new byte[SealedFile.ChunkBytes];
    private readonly byte[] _sealed = new byte[SealedFile.ChunkBytes + 4 + StoreCipher.TagSize];
    private int _filled;
    private uint _index;
    private bool _finished;

    public SealedFileWriter(Stream inner, StoreCipher cipher, SealedKind kind, bool leaveOpen = false)
        : this(inner, cipher, kind, RandomNumberGenerator.GetBytes(8), leaveOpen)
    {
    }

    /// <summary>With a given salt: golden tests only (a salt must never be reused with a key).</summary>
    internal SealedFileWriter(Stream inner, StoreCipher cipher, SealedKind kind, byte[] salt, bool leaveOpen)
    {
        _inner = inner;
        _leaveOpen = leaveOpen;
        _gcm = cipher.NewAesGcm();
        SealedFile.WriteHeader(_header, kind, salt);
        inner.Write(_header);
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            if (_filled == _plain.Length) EmitChunk(last: false);
            var n = Math.Min(buffer.Length, _plain.Length - _filled);
            buffer[..n].CopyTo(_plain.AsSpan(_filled));
            _filled += n;
            buffer = buffer[n..];
        }
    }

    /// <summary>Writes the last chunk; the file is complete (and flushed to the inner stream) after it.</summary>
    public void Finish()
    {
        if (_finished) return;
        _finished = true;
        EmitChunk(last: true);
        _inner.Flush();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gcm.Dispose();
            if (!_leaveOpen) _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void EmitChunk(bool last)
    {
        SealedFile.SealChunk(_gcm, _header, _index++, last, _plain.AsSpan(0, _filled), _sealed);
        _inner.Write(_sealed, 0, 4 + _filled + StoreCipher.TagSize);
        _filled = 0;
    }
}
