using System.Buffers;
using System.Buffers.Binary;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>What a change record describes. Persisted: never renumber.</summary>
public enum ChangeKind : byte
{
    /// <summary>One item replaced, inserted or removed.</summary>
    ItemWrite = 1,

    /// <summary>A table definition created, changed or dropped.</summary>
    Catalog = 2,

    /// <summary>
    /// A committed transaction: every item change it made, in one frame, so replay applies all of them or (a torn
    /// frame) none. Also carries the ClientRequestToken that makes it idempotent.
    /// </summary>
    Transaction = 3,
}

/// <summary>Flags on an item write. Persisted: never renumber.</summary>
[Flags]
public enum ChangeFlags : byte
{
    None = 0,

    /// <summary>The service itself made the change (a TTL deletion), not a user request.</summary>
    System = 1,

    /// <summary>
    /// The change was replicated from another region's replica of a global table; the ItemWrite body is followed by
    /// its origin (region, timestamp, sequence number there). Replication never sends such a change on again.
    /// </summary>
    Replicated = 2,
}

/// <summary>
/// One decoded change record, viewing the bytes it was read from (decrypted in place). The on-disk frame is
/// <code>
///   u32 payloadLength (LE) | u32 crc32(payloadLength | nonce) (LE) | 12-byte nonce
///   | payload, AES-256-GCM encrypted with the store's data key | 16-byte tag   (associated data: payloadLength)
/// payload:
///   u8 formatVersion (=1) | u8 kind | u64 lsn (LE) | i64 timestampMicros since the Unix epoch (LE) | body
/// ItemWrite body:
///   u8 flags | u32 tableNumber (LE) | varint keyLength | key
///   | varint oldLength+1 (0 = no old image) | old item | varint newLength+1 (0 = no new image) | new item
///   and, only when flags has Replicated, the origin: u8 regionLength | region UTF-8
///   | i64 originTimestampMicros (LE) | u64 originLsn (LE)   (readers that predate it ignore trailing bytes)
/// Catalog body:
///   u32 tableNumber (LE) | varint length | table definition JSON (length 0 = table dropped)
/// Transaction body:
///   varint tokenLength | ClientRequestToken UTF-8 (length 0 = none) | u8 fingerprintLength | request fingerprint
///   | varint itemCount | itemCount × (u8 flags | u32 tableNumber (LE) | varint keyLength | key
///   | varint oldLength+1 | old item | varint newLength+1 | new item)   — each item laid out as an ItemWrite body
/// </code>
/// Keys and items are in <c>KeyCodec</c>/<c>ItemCodec</c> encodings. A golden test guards this layout.
/// The header checksum lets recovery tell a frame boundary from noise when it looks past a damaged frame (a torn
/// tail has no intact frame after it; corruption in the middle of a segment does).
/// </summary>
public readonly ref struct ChangeRecord
{
    public const byte FormatVersion = 1;
    public const int FrameHeaderSize = 20;
    public const int FrameTrailerSize = Security.Encryption.StoreCipher.TagSize;
    public const int FrameOverhead = FrameHeaderSize + FrameTrailerSize;
    private const int MinPayload = 18;

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

    /// <summary>Replicated item writes: the region where the write happened (UTF-8).</summary>
    public ReadOnlySpan<byte> OriginRegion { get; init; }

    /// <summary>Replicated item writes: the write's timestamp in its own region, which last-writer-wins compares.</summary>
    public long OriginTimestampMicros { get; init; }

    /// <summary>Replicated item writes: the write's change-log sequence number in its own region.</summary>
    public ulong OriginLsn { get; init; }

    /// <summary>Catalog records: the table definition JSON, empty when the table was dropped.</summary>
    public ReadOnlySpan<byte> CatalogBody { get; init; }

    /// <summary>Transaction records: the ClientRequestToken (UTF-8), empty when the request had none.</summary>
    public ReadOnlySpan<byte> TransactionToken { get; init; }

    /// <summary>Transaction records: the fingerprint of the request's parameters, compared when the token is reused.</summary>
    public ReadOnlySpan<byte> TransactionFingerprint { get; init; }

    /// <summary>Transaction records: how many item changes <see cref="TransactionItems"/> holds.</summary>
    public int TransactionItemCount { get; init; }

    /// <summary>Transaction records: the encoded item changes; enumerate them with <see cref="EnumerateTransactionItems"/>.</summary>
    public ReadOnlySpan<byte> TransactionItems { get; init; }

    /// <summary>The item changes of a transaction record, each as an ItemWrite record with the transaction's LSN and time.</summary>
    public TransactionItemEnumerator EnumerateTransactionItems() => new(TransactionItems, TransactionItemCount, Lsn, TimestampMicros);

    public static void WriteItemWrite(IBufferWriter<byte> output, RecordCipher cipher, ulong lsn, long timestampMicros, ChangeFlags flags, uint table,
        ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> oldImage, bool hasNew, ReadOnlySpan<byte> newImage, in ReplicaOrigin origin = default)
    {
        var replicated = (flags & ChangeFlags.Replicated) != 0;
        if (replicated && (origin.Region is not { Length: > 0 and <= 64 })) throw new ArgumentException("A replicated write needs its origin region.", nameof(origin));
        var payload = 1 + 1 + 8 + 8 + ItemBodySize(key.Length, hasOld, oldImage.Length, hasNew, newImage.Length)
            + (replicated ? 1 + System.Text.Encoding.UTF8.GetByteCount(origin.Region!) + 16 : 0);
        var span = output.GetSpan(FrameOverhead + payload);
        var p = span.Slice(FrameHeaderSize, payload);
        var o = WriteHeader(p, ChangeKind.ItemWrite, lsn, timestampMicros);
        o += WriteItemBody(p[o..], flags, table, key, hasOld, oldImage, hasNew, newImage);
        if (replicated)
        {
            var n = System.Text.Encoding.UTF8.GetBytes(origin.Region, p[(o + 1)..]);
            p[o] = (byte)n;
            o += 1 + n;
            BinaryPrimitives.WriteInt64LittleEndian(p[o..], origin.TimestampMicros);
            BinaryPrimitives.WriteUInt64LittleEndian(p[(o + 8)..], origin.Lsn);
            o += 16;
        }

        FinishFrame(cipher, span, o, payload);
        output.Advance(FrameOverhead + payload);
    }

    public static void WriteCatalog(IBufferWriter<byte> output, RecordCipher cipher, ulong lsn, long timestampMicros, uint table, ReadOnlySpan<byte> body)
    {
        var payload = 1 + 1 + 8 + 8 + 4 + VarInt.Size((ulong)body.Length) + body.Length;
        var span = output.GetSpan(FrameOverhead + payload);
        var p = span.Slice(FrameHeaderSize, payload);
        var o = WriteHeader(p, ChangeKind.Catalog, lsn, timestampMicros);
        BinaryPrimitives.WriteUInt32LittleEndian(p[o..], table);
        o += 4;
        o += VarInt.Write(p[o..], (ulong)body.Length);
        body.CopyTo(p[o..]);
        o += body.Length;
        FinishFrame(cipher, span, o, payload);
        output.Advance(FrameOverhead + payload);
    }

    /// <summary>Writes one transaction frame holding every item change of the transaction.</summary>
    public static void WriteTransaction(IBufferWriter<byte> output, RecordCipher cipher, ulong lsn, long timestampMicros, ReadOnlySpan<byte> token,
        ReadOnlySpan<byte> fingerprint, ReadOnlySpan<TransactionChange> items)
    {
        if (fingerprint.Length > byte.MaxValue) throw new ArgumentOutOfRangeException(nameof(fingerprint));
        var payload = 1 + 1 + 8 + 8 + VarInt.Size((ulong)token.Length) + token.Length + 1 + fingerprint.Length + VarInt.Size((ulong)items.Length);
        foreach (var item in items) payload += ItemBodySize(item.Key.Length, item.HasOld, item.Old.Length, item.HasNew, item.New.Length);
        var span = output.GetSpan(FrameOverhead + payload);
        var p = span.Slice(FrameHeaderSize, payload);
        var o = WriteHeader(p, ChangeKind.Transaction, lsn, timestampMicros);
        o += VarInt.Write(p[o..], (ulong)token.Length);
        token.CopyTo(p[o..]);
        o += token.Length;
        p[o++] = (byte)fingerprint.Length;
        fingerprint.CopyTo(p[o..]);
        o += fingerprint.Length;
        o += VarInt.Write(p[o..], (ulong)items.Length);
        foreach (var item in items)
            o += WriteItemBody(p[o..], item.Flags, item.Table, item.Key.Span, item.HasOld, item.Old.Span, item.HasNew, item.New.Span);
        FinishFrame(cipher, span, o, payload);
        output.Advance(FrameOverhead + payload);
    }

    /// <summary>
    /// Decodes the frame at the start of <paramref name="data"/>, decrypting it in place. Returns the frame length,
    /// 0 when the data ends inside a frame, or -1 when the frame is damaged (bad header checksum, failed
    /// authentication or bad layout); the bytes of a damaged frame are not usable afterwards.
    /// </summary>
    public static int TryRead(Span<byte> data, RecordCipher cipher, out ChangeRecord record)
    {
        record = default;
        var status = CheckHeader(data, out var length);
        if (status <= 0) return status;
        var p = data.Slice(FrameHeaderSize, length);
        if (!cipher.TryOpen(data.Slice(8, 12), p, data.Slice(FrameHeaderSize + length, FrameTrailerSize), data[..4])) return -1;
        return Decode(p, length, out record);
    }

    /// <summary>
    /// Checks the frame header at the start of <paramref name="data"/> without decrypting: the frame length when the
    /// header is intact and the frame fits, 0 when the data ends first, -1 when the header is damaged.
    /// </summary>
    public static int CheckHeader(ReadOnlySpan<byte> data, out int payloadLength)
    {
        payloadLength = 0;
        if (data.Length < FrameHeaderSize) return 0;
        var length = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (length < MinPayload || length > int.MaxValue - FrameOverhead) return -1;
        if (HeaderCrc(data) != BinaryPrimitives.ReadUInt32LittleEndian(data[4..])) return -1;
        if (data.Length - FrameOverhead < length) return 0;
        payloadLength = (int)length;
        return FrameOverhead + (int)length;
    }

    private static int Decode(ReadOnlySpan<byte> p, int length, out ChangeRecord record)
    {
        record = default;
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
                    o += ReadItemBody(p[o..], lsn, ts, out record);
                    if ((record.Flags & ChangeFlags.Replicated) != 0)
                    {
                        int regionLength = p[o++];
                        record = record with
                        {
                            OriginRegion = p.Slice(o, regionLength),
                            OriginTimestampMicros = BinaryPrimitives.ReadInt64LittleEndian(p[(o + regionLength)..]),
                            OriginLsn = BinaryPrimitives.ReadUInt64LittleEndian(p[(o + regionLength + 8)..]),
                        };
                    }

                    break;

                case ChangeKind.Catalog:
                    {
                        var table = BinaryPrimitives.ReadUInt32LittleEndian(p[o..]);
                        o += 4;
                        o += VarInt.Read(p[o..], out var bodyLen);
                        record = new ChangeRecord { Kind = kind, Lsn = lsn, TimestampMicros = ts, TableNumber = table, CatalogBody = p.Slice(o, (int)bodyLen) };
                        break;
                    }

                case ChangeKind.Transaction:
                    {
                        o += VarInt.Read(p[o..], out var tokenLen);
                        var token = p.Slice(o, (int)tokenLen);
                        o += (int)tokenLen;
                        int fingerprintLen = p[o++];
                        var fingerprint = p.Slice(o, fingerprintLen);
                        o += fingerprintLen;
                        o += VarInt.Read(p[o..], out var count);
                        if (count > int.MaxValue) return -1;
                        var items = p[o..];
                        // Walk the items once so a damaged layout is refused here, never half-applied by a reader.
                        var walk = new TransactionItemEnumerator(items, (int)count, lsn, ts);
                        while (walk.MoveNext())
                        {
                        }

                        if (walk.Consumed != items.Length) return -1;
                        record = new ChangeRecord
                        {
                            Kind = kind, Lsn = lsn, TimestampMicros = ts, TransactionToken = token, TransactionFingerprint = fingerprint,
                            TransactionItemCount = (int)count, TransactionItems = items,
                        };
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
        catch (IndexOutOfRangeException)
        {
            return -1;
        }

        return FrameOverhead + length;
    }

    private static int WriteHeader(Span<byte> p, ChangeKind kind, ulong lsn, long ts)
    {
        p[0] = FormatVersion;
        p[1] = (byte)kind;
        BinaryPrimitives.WriteUInt64LittleEndian(p[2..], lsn);
        BinaryPrimitives.WriteInt64LittleEndian(p[10..], ts);
        return 18;
    }

    private static int ItemBodySize(int keyLength, bool hasOld, int oldLength, bool hasNew, int newLength) =>
        1 + 4 + VarInt.Size((ulong)keyLength) + keyLength
        + (hasOld ? VarInt.Size((ulong)oldLength + 1) + oldLength : 1)
        + (hasNew ? VarInt.Size((ulong)newLength + 1) + newLength : 1);

    private static int WriteItemBody(Span<byte> p, ChangeFlags flags, uint table, ReadOnlySpan<byte> key, bool hasOld, ReadOnlySpan<byte> oldImage,
        bool hasNew, ReadOnlySpan<byte> newImage)
    {
        var o = 0;
        p[o++] = (byte)flags;
        BinaryPrimitives.WriteUInt32LittleEndian(p[o..], table);
        o += 4;
        o += VarInt.Write(p[o..], (ulong)key.Length);
        key.CopyTo(p[o..]);
        o += key.Length;
        o += WriteOptional(p[o..], hasOld, oldImage);
        o += WriteOptional(p[o..], hasNew, newImage);
        return o;
    }

    /// <summary>Reads one ItemWrite body (flags onwards); returns its length.</summary>
    internal static int ReadItemBody(ReadOnlySpan<byte> p, ulong lsn, long ts, out ChangeRecord record)
    {
        var o = 0;
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
            Kind = ChangeKind.ItemWrite, Lsn = lsn, TimestampMicros = ts, Flags = flags, TableNumber = table, Key = key,
            HasOldImage = hasOld, OldImage = old, HasNewImage = hasNew, NewImage = @new,
        };
        return o;
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

    private static void FinishFrame(RecordCipher cipher, Span<byte> frame, int written, int payload)
    {
        if (written != payload) throw new InvalidOperationException("Change record size mismatch.");
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)payload);
        cipher.Seal(frame.Slice(8, 12), frame.Slice(FrameHeaderSize, payload), frame.Slice(FrameHeaderSize + payload, FrameTrailerSize), frame[..4]);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], HeaderCrc(frame));
    }

    private static uint HeaderCrc(ReadOnlySpan<byte> frame) => Crc32.Append(Crc32.Compute(frame[..4]), frame.Slice(8, 12));
}

/// <summary>Where a replicated write happened: its region, its timestamp there and its sequence number there.</summary>
public readonly record struct ReplicaOrigin(string? Region, long TimestampMicros, ulong Lsn);

/// <summary>One item change of a transaction, as handed to <see cref="ChangeRecord.WriteTransaction"/>.</summary>
public readonly record struct TransactionChange(ChangeFlags Flags, uint Table, ReadOnlyMemory<byte> Key, bool HasOld, ReadOnlyMemory<byte> Old,
    bool HasNew, ReadOnlyMemory<byte> New);

/// <summary>Walks the item changes of a transaction record; each is presented as an ItemWrite record.</summary>
public ref struct TransactionItemEnumerator
{
    private readonly ReadOnlySpan<byte> _items;
    private readonly int _count;
    private readonly ulong _lsn;
    private readonly long _timestamp;
    private int _index;
    private ChangeRecord _current;

    internal TransactionItemEnumerator(ReadOnlySpan<byte> items, int count, ulong lsn, long timestamp)
    {
        _items = items;
        _count = count;
        _lsn = lsn;
        _timestamp = timestamp;
    }

    /// <summary>Bytes read so far.</summary>
    public int Consumed { get; private set; }

    public readonly ChangeRecord Current => _current;

    public bool MoveNext()
    {
        if (_index >= _count) return false;
        Consumed += ChangeRecord.ReadItemBody(_items[Consumed..], _lsn, _timestamp, out _current);
        _index++;
        return true;
    }
}
