using System.Buffers;
using System.Buffers.Binary;

namespace Serverless.Engine.Storage;

/// <summary>What a change record describes. Persisted: never renumber.</summary>
public enum ChangeKind : byte
{
    /// <summary>One item replaced, inserted or removed.</summary>
    ItemWrite = 1,

    /// <summary>A table definition created, changed or dropped.</summary>
    Catalog = 2,
}

/// <summary>Flags on an item write. Persisted: never renumber.</summary>
[Flags]
public enum ChangeFlags : byte
{
    None = 0,

    /// <summary>The service itself made the change (a TTL deletion), not a user request.</summary>
    System = 1,
}

/// <summary>
/// One decoded change record, viewing the bytes it was read from. The on-disk frame is
/// <code>
///   u32 payloadLength (LE) | u32 crc32(payload) (LE) | payload
/// payload:
///   u8 formatVersion (=1) | u8 kind | u64 lsn (LE) | i64 timestampMicros since the Unix epoch (LE) | body
/// ItemWrite body:
///   u8 flags | u32 tableNumber (LE) | varint keyLength | key
///   | varint oldLength+1 (0 = no old image) | old item | varint newLength+1 (0 = no new image) | new item
/// Catalog body:
///   u32 tableNumber (LE) | varint length | table definition JSON (length 0 = table dropped)
/// </code>
/// Keys and items are in <c>KeyCodec</c>/<c>ItemCodec</c> encodings. A golden test guards this layout.
/// </summary>
public readonly ref struct ChangeRecord
{
    public const byte FormatVersion = 1;
    public const int FrameHeaderSize = 8;

    public ChangeKind Kind { get; init; }

    public ulong Lsn { get; init; }

    public long TimestampMicros { get; init; }

    public ChangeFlags Flags { get; init; }

    public uint TableNumber { get; init; }

    public ReadOnlySpan<byte> Key { get; init; }

    public bool HasOldImage { get; init; }

    public ReadOnlySpan<byte> OldImage { get; init; }

    public bool HasNewImage { get; init; }

    public ReadOnlySpan<byte> NewImage { get; init; }

    /// <summary>Catalog records: the table definition JSON, empty when the table was dropped.</summary>
    public ReadOnlySpan<byte> CatalogBody { get; init; }

    public static void WriteItemWrite(IBufferWriter<byte> output, ulong lsn, long timestampMicros, ChangeFlags flags, uint table,
        ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> oldImage, bool hasNew, ReadOnlySpan<byte> newImage)
    {
        var payload = 1 + 1 + 8 + 8 + 1 + 4 + VarInt.Size((ulong)key.Length) + key.Length
            + (hasOld ? VarInt.Size((ulong)oldImage.Length + 1) + oldImage.Length : 1)
            + (hasNew ? VarInt.Size((ulong)newImage.Length + 1) + newImage.Length : 1);
        var span = output.GetSpan(FrameHeaderSize + payload);
        var p = span.Slice(FrameHeaderSize, payload);
        var o = WriteHeader(p, ChangeKind.ItemWrite, lsn, timestampMicros);
        p[o++] = (byte)flags;
        BinaryPrimitives.WriteUInt32LittleEndian(p[o..], table);
        o += 4;
        o += VarInt.Write(p[o..], (ulong)key.Length);
        key.CopyTo(p[o..]);
        o += key.Length;
        o += WriteOptional(p[o..], hasOld, oldImage);
        o += WriteOptional(p[o..], hasNew, newImage);
        FinishFrame(span, p, o);
        output.Advance(FrameHeaderSize + payload);
    }

    public static void WriteCatalog(IBufferWriter<byte> output, ulong lsn, long timestampMicros, uint table, ReadOnlySpan<byte> body)
    {
        var payload = 1 + 1 + 8 + 8 + 4 + VarInt.Size((ulong)body.Length) + body.Length;
        var span = output.GetSpan(FrameHeaderSize + payload);
        var p = span.Slice(FrameHeaderSize, payload);
        var o = WriteHeader(p, ChangeKind.Catalog, lsn, timestampMicros);
        BinaryPrimitives.WriteUInt32LittleEndian(p[o..], table);
        o += 4;
        o += VarInt.Write(p[o..], (ulong)body.Length);
        body.CopyTo(p[o..]);
        o += body.Length;
        FinishFrame(span, p, o);
        output.Advance(FrameHeaderSize + payload);
    }

    /// <summary>
    /// Decodes the frame at the start of <paramref name="data"/>. Returns the frame length, 0 when the data ends
    /// inside a frame, or -1 when the frame is corrupt (bad checksum or layout): both mean a torn tail.
    /// </summary>
    public static int TryRead(ReadOnlySpan<byte> data, out ChangeRecord record)
    {
        record = default;
        if (data.Length < FrameHeaderSize) return 0;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(data);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (length < 18 || length > int.MaxValue - FrameHeaderSize) return -1;
        if (data.Length - FrameHeaderSize < length) return 0;
        var p = data.Slice(FrameHeaderSize, (int)length);
        if (Protocol.Crc32.Compute(p) != crc) return -1;
        if (p[0] != FormatVersion) return -1;
        var kind = (ChangeKind)p[1];
        var lsn = BinaryPrimitives.ReadUInt64LittleEndian(p[2..]);
        var ts = BinaryPrimitives.ReadInt64LittleEndian(p[10..]);
        var o = 18;
        try
        {
            switch (kind)
            {
                case ChangeKind.ItemWrite:
                    {
                        var flags = (ChangeFlags)p[o++];
                        var table = BinaryPrimitives.ReadUInt32LittleEndian(p[o..]);
                        o += 4;
                        o += VarInt.Read(p[o..], out var keyLen);
                        var key = p.Slice(o, (int)keyLen);
                        o += (int)keyLen;
                        o += ReadOptional(p[o..], out var hasOld, out var old);
                        o += ReadOptional(p[o..], out var hasNew, out var @new);
                        record = new ChangeRecord
                        {
                            Kind = kind, Lsn = lsn, TimestampMicros = ts, Flags = flags, TableNumber = table, Key = key,
                            HasOldImage = hasOld, OldImage = old, HasNewImage = hasNew, NewImage = @new,
                        };
                        break;
                    }

                case ChangeKind.Catalog:
                    {
                        var table = BinaryPrimitives.ReadUInt32LittleEndian(p[o..]);
                        o += 4;
                        o += VarInt.Read(p[o..], out var bodyLen);
                        record = new ChangeRecord { Kind = kind, Lsn = lsn, TimestampMicros = ts, TableNumber = table, CatalogBody = p.Slice(o, (int)bodyLen) };
                        break;
                    }

                default:
                    return -1;
            }
        }
        catch (ArgumentOutOfRangeException)
        {
            return -1;
        }

        return FrameHeaderSize + (int)length;
    }

    private static int WriteHeader(Span<byte> p, ChangeKind kind, ulong lsn, long ts)
    {
        p[0] = FormatVersion;
        p[1] = (byte)kind;
        BinaryPrimitives.WriteUInt64LittleEndian(p[2..], lsn);
        BinaryPrimitives.WriteInt64LittleEndian(p[10..], ts);
        return 18;
    }

    private static int WriteOptional(Span<byte> p, bool present, ReadOnlySpan<byte> value)
    {
        if (!present)
        {
            p[0] = 0;
            return 1;
        }

        var n = VarInt.Write(p, (ulong)value.Length + 1);
        value.CopyTo(p[n..]);
        return n + value.Length;
    }

    private static int ReadOptional(ReadOnlySpan<byte> p, out bool present, out ReadOnlySpan<byte> value)
    {
        var n = VarInt.Read(p, out var lenPlusOne);
        present = lenPlusOne != 0;
        value = present ? p.Slice(n, (int)(lenPlusOne - 1)) : default;
        return n + (present ? (int)(lenPlusOne - 1) : 0);
    }

    private static void FinishFrame(Span<byte> frame, ReadOnlySpan<byte> payload, int written)
    {
        if (written != payload.Length) throw new InvalidOperationException("Change record size mismatch.");
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], Protocol.Crc32.Compute(payload));
    }
}

/// <summary>LEB128 unsigned varints, as used in the persisted encodings.</summary>
public static class VarInt
{
    public static int Size(ulong value)
    {
        var n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }

        return n;
    }

    public static int Write(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int Read(ReadOnlySpan<byte> source, out ulong value)
    {
        value = 0;
        var shift = 0;
        for (var i = 0; i < 10; i++)
        {
            var b = source[i];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return i + 1;
            shift += 7;
        }

        throw new ArgumentOutOfRangeException(nameof(source), "Varint too long.");
    }
}
