using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Serverless.Engine.Security.Encryption;

/// <summary>
/// Reads a <see cref="SealedFile"/> as a stream, one 64 KiB chunk in memory at a time: each chunk is authenticated
/// before any of its bytes are returned, and the end of the stream is reported only after the chunk marked last (a
/// truncated, damaged or foreign file throws naming it, as <see cref="SealedFile.Open"/> does).
/// </summary>
public sealed class SealedFileReader : Stream
{
    private readonly Stream _inner;
    private readonly string _name;
    private readonly AesGcm _gcm;
    private readonly byte[] _header = new byte[SealedFile.HeaderSize];
    private readonly byte[] _sealed = new byte[SealedFile.ChunkBytes + StoreCipher.TagSize];
    private readonly byte[] _plain = new byte[SealedFile.ChunkBytes];
    private int _start;
    private int _end;
    private uint _index;
    private long _position = SealedFile.HeaderSize;
    private bool _last;

    public SealedFileReader(Stream inner, StoreCipher cipher, SealedKind kind, string name)
    {
        _inner = inner;
        _name = name;
        if (ReadFully(_header) < SealedFile.HeaderSize || !_header.AsSpan(0, 8).SequenceEqual("DDBSEAL1"u8))
            throw SealedFile.Corrupt(name, "it is not an encrypted store file");
        if (_header[8] != (byte)kind) throw SealedFile.Corrupt(name, $"it is not a {kind} file");
        _gcm = cipher.NewAesGcm();
    }

    /// <summary>Opens <paramref name="path"/> for reading.</summary>
    public static SealedFileReader OpenFile(string path, StoreCipher cipher, SealedKind kind)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        try
        {
            return new SealedFileReader(file, cipher, kind, path);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (_start == _end)
        {
            if (_last) return 0;
            NextChunk();
        }

        var n = Math.Min(buffer.Length, _end - _start);
        _plain.AsSpan(_start, n).CopyTo(buffer);
        _start += n;
        return n;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>'s length, or throws: the file ends too early.</summary>
    public void ReadExactly(Span<byte> buffer, string what)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = Read(buffer[done..]);
            if (n == 0) throw SealedFile.Corrupt(_name, $"it ends inside {what}");
            done += n;
        }
    }

    /// <summary>Reads the rest of the file and checks that nothing follows its last chunk.</summary>
    public void ReadToEnd()
    {
        while (!_last) NextChunk();
        _start = _end;
        Span<byte> one = stackalloc byte[1];
        if (_inner.Read(one) != 0) throw SealedFile.Corrupt(_name, "it has bytes after its last chunk");
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gcm?.Dispose();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void NextChunk()
    {
        Span<byte> wordBytes = stackalloc byte[4];
        if (ReadFully(wordBytes) < 4) throw SealedFile.Corrupt(_name, $"it is truncated at byte {_position}");
        var word = BinaryPrimitives.ReadUInt32LittleEndian(wordBytes);
        var length = (int)(word & ~SealedFile.LastFlag);
        if (length > SealedFile.ChunkBytes || ReadFully(_sealed.AsSpan(0, length + StoreCipher.TagSize)) < length + StoreCipher.TagSize)
            throw SealedFile.Corrupt(_name, $"chunk {_index} at byte {_position} is damaged or truncated");
        Span<byte> nonce = stackalloc byte[StoreCipher.NonceSize];
        Span<byte> aad = stackalloc byte[SealedFile.HeaderSize + 8];
        _header.CopyTo(aad);
        _header.AsSpan(12).CopyTo(nonce);
        BinaryPrimitives.WriteUInt32LittleEndian(nonce[8..], _index);
        BinaryPrimitives.WriteUInt32LittleEndian(aad[SealedFile.HeaderSize..], _index);
        BinaryPrimitives.WriteUInt32LittleEndian(aad[(SealedFile.HeaderSize + 4)..], word);
        try
        {
            _gcm.Decrypt(nonce, _sealed.AsSpan(0, length), _sealed.AsSpan(length, StoreCipher.TagSize), _plain.AsSpan(0, length), aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw SealedFile.Corrupt(_name, $"chunk {_index} at byte {_position} fails authentication (tampered, damaged, or written with another key)");
        }

        _index++;
        _position += 4 + length + StoreCipher.TagSize;
        _start = 0;
        _end = length;
        _last = (word & SealedFile.LastFlag) != 0;
    }

    private int ReadFully(Span<byte> buffer)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var n = _inner.Read(buffer[done..]);
            if (n == 0) break;
            done += n;
        }

        return done;
    }
}
