using System.Buffers.Binary;
using System.Text;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Partitioning.Transactions;

/// <summary>
/// The coordinator's durable record of a committed cross-partition transaction (docs/scale-out.md): the new image
/// of every item it changes, by partition, and its ClientRequestToken. Its file appearing is the commit point;
/// it is deleted once every partition has applied and made durable its part.
/// </summary>
/// <remarks>
/// Persisted, golden-tested. A sealed file (<see cref="SealedKind.CommitRecord"/>) whose plaintext is <c>"2PC1",
/// u16 tokenLength, token (UTF-8), u16 fingerprintLength, fingerprint, u32 parts,</c>
/// then per part <c>u16 partition, u32 changes,</c> and per change <c>u32 table, u32 keyLength, key, u8 hasNew,
/// u32 imageLength, image</c>; integers little-endian.
/// </remarks>
public sealed record CommitRecord(string? Token, byte[]? Fingerprint, IReadOnlyList<(int Partition, IReadOnlyList<RedoChange> Changes)> Parts)
{
    private static ReadOnlySpan<byte> Magic => "2PC1"u8;

    /// <summary>The record's plaintext (the file is it sealed with the store's key, <see cref="SealedKind.CommitRecord"/>).</summary>
    public byte[] Encode()
    {
        var payload = new MemoryStream();
        payload.Write(Magic);
        WriteBlock16(payload, Token == null ? [] : Encoding.UTF8.GetBytes(Token));
        WriteBlock16(payload, Fingerprint ?? []);
        WriteInt(payload, (uint)Parts.Count);
        foreach (var (partition, changes) in Parts)
        {
            WriteShort(payload, (ushort)partition);
            WriteInt(payload, (uint)changes.Count);
            foreach (var change in changes)
            {
                WriteInt(payload, change.Table);
                WriteInt(payload, (uint)change.Key.Length);
                payload.Write(change.Key);
                payload.WriteByte(change.HasNew ? (byte)1 : (byte)0);
                var image = change.HasNew ? change.New : [];
                WriteInt(payload, (uint)image.Length);
                payload.Write(image);
            }
        }

        return payload.ToArray();
    }

    /// <summary>Reads a record's plaintext written by <see cref="Encode"/>; a foreign one throws.</summary>
    public static CommitRecord Decode(ReadOnlySpan<byte> plain)
    {
        if (plain.Length < 4 || !plain[..4].SequenceEqual(Magic)) throw new InvalidDataException("Commit record: unknown format.");
        var span = plain[4..];
        var tokenBytes = ReadBlock16(ref span);
        var fingerprint = ReadBlock16(ref span);
        var partCount = ReadInt(ref span);
        var parts = new List<(int, IReadOnlyList<RedoChange>)>((int)Math.Min(partCount, PartitionMap.MaxPartitions));
        for (var p = 0u; p < partCount; p++)
        {
            int partition = BinaryPrimitives.ReadUInt16LittleEndian(span);
            span = span[2..];
            var count = ReadInt(ref span);
            var changes = new List<RedoChange>();
            for (var c = 0u; c < count; c++)
            {
                var table = ReadInt(ref span);
                var key = span[..(int)ReadInt(ref span)].ToArray();
                span = span[key.Length..];
                var hasNew = span[0] == 1;
                span = span[1..];
                var image = span[..(int)ReadInt(ref span)].ToArray();
                span = span[image.Length..];
                changes.Add(new RedoChange(table, key, hasNew, image));
            }

            parts.Add((partition, changes));
        }

        return new CommitRecord(tokenBytes.Length == 0 ? null : Encoding.UTF8.GetString(tokenBytes), fingerprint.Length == 0 ? null : fingerprint, parts);
    }

    private static void WriteInt(Stream s, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        s.Write(b);
    }

    private static void WriteShort(Stream s, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        s.Write(b);
    }

    private static void WriteBlock16(Stream s, byte[] block)
    {
        WriteShort(s, (ushort)block.Length);
        s.Write(block);
    }

    private static uint ReadInt(ref ReadOnlySpan<byte> span)
    {
        var value = BinaryPrimitives.ReadUInt32LittleEndian(span);
        span = span[4..];
        return value;
    }

    private static byte[] ReadBlock16(ref ReadOnlySpan<byte> span)
    {
        int length = BinaryPrimitives.ReadUInt16LittleEndian(span);
        var block = span.Slice(2, length).ToArray();
        span = span[(2 + length)..];
        return block;
    }
}
