using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Persistence;

/// <summary>
/// Writes the plaintext of snapshot and backup files as it goes: raw bytes and length-prefixed byte strings
/// (<c>varint length | bytes</c>), with a running CRC32 of everything written.
/// </summary>
public sealed class RecordWriter(Stream stream)
{
    public uint Crc { get; private set; }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Crc = Crc32.Append(Crc, bytes);
        stream.Write(bytes);
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Span<byte> length = stackalloc byte[10];
        var n = VarInt.Write(length, (ulong)bytes.Length);
        Write(length[..n]);
        Write(bytes);
    }

    /// <summary>Writes bytes outside the CRC (the CRC itself).</summary>
    public void WriteUnchecked(ReadOnlySpan<byte> bytes) => stream.Write(bytes);
}

/// <summary>Reads what <see cref="RecordWriter"/> wrote, from a stream, with the same running CRC32.</summary>
public sealed class RecordReader(Stream stream, string name)
{
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;

    public uint Crc { get; private set; }

    /// <summary>Reads exactly <paramref name="destination"/>'s length; <paramref name="check"/>: adds the bytes to the CRC.</summary>
    public void Read(Span<byte> destination, bool check = true)
    {
        while (destination.Length > 0)
        {
            if (_start == _end) Fill();
            var n = Math.Min(destination.Length, _end - _start);
            var chunk = _buffer.AsSpan(_start, n);
            if (check) Crc = Crc32.Append(Crc, chunk);
            chunk.CopyTo(destination);
            _start += n;
            destination = destination[n..];
        }
    }

    public ulong ReadVarInt()
    {
        ulong value = 0;
        Span<byte> one = stackalloc byte[1];
        for (var shift = 0; shift < 70; shift += 7)
        {
            Read(one);
            value |= (ulong)(one[0] & 0x7F) << shift;
            if (one[0] < 0x80) return value;
        }

        throw new InvalidDataException($"The file {name} is corrupt: a length is too long.");
    }

    /// <summary>A length-prefixed byte string of at most <paramref name="max"/> bytes.</summary>
    public byte[] ReadBytes(ulong length, int max = 64 << 20)
    {
        if (length > (ulong)max) throw new InvalidDataException($"The file {name} is corrupt: a record of {length} bytes.");
        var bytes = new byte[(int)length];
        Read(bytes);
        return bytes;
    }

    /// <summary>Whether the stream has no bytes left.</summary>
    public bool AtEnd()
    {
        if (_start < _end) return false;
        _start = 0;
        _end = stream.Read(_buffer);
        return _end == 0;
    }

    private void Fill()
    {
        _start = 0;
        _end = stream.Read(_buffer);
        if (_end == 0) throw new InvalidDataException($"The file {name} is corrupt: it ends too early.");
    }
}
