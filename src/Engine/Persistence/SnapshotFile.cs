using System.Buffers.Binary;
using Serverless.Engine.Protocol;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Persistence;

/// <summary>
/// An item snapshot of the whole store, as uploaded to blob storage at each checkpoint. It is fuzzy (taken while
/// writes go on) and made exact by replaying the log from <c>replayFrom</c>, whose records carry full images.
/// The file is a <see cref="SealedFile"/> (kind Snapshot: encrypted and authenticated in 64 KiB chunks) whose
/// plaintext is, guarded by a golden test:
/// <code>
///   "DDBSNAP1" | u64 replayFrom (LE)
///   | records: varint keyLength (≥ 1) | storage key | varint valueLength | stored value
///   | varint 0 (end) | u64 count (LE) | u32 crc32 of everything before (LE)
/// </code>
/// </summary>
public static class SnapshotFile
{
    private static readonly byte[] Magic = "DDBSNAP1"u8.ToArray();

    /// <summary>
    /// Writes a snapshot of every item in <paramref name="store"/> to <paramref name="path"/>, streaming: the store is
    /// scanned record by record (<see cref="FasterStore.ForEach"/>) into the sealed file's 64 KiB chunks.
    /// </summary>
    public static long Write(string path, ulong replayFrom, FasterStore store, StoreCipher cipher)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var sealedFile = new SealedFileWriter(file, cipher, SealedKind.Snapshot, leaveOpen: true);
        var writer = new RecordWriter(sealedFile);
        writer.Write(Magic);
        Span<byte> u64 = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(u64, replayFrom);
        writer.Write(u64);
        long count = 0;
        store.ForEach((key, value) =>
        {
            writer.WriteBytes(key);
            writer.WriteBytes(value);
            count++;
        });
        Span<byte> end = [0];
        writer.Write(end);
        BinaryPrimitives.WriteUInt64LittleEndian(u64, (ulong)count);
        writer.Write(u64);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(crc, writer.Crc);
        writer.WriteUnchecked(crc);
        sealedFile.Finish();
        file.Flush(flushToDisk: true);
        return count;
    }

    /// <summary>
    /// Reads a snapshot: its replay point, and each item through <paramref name="visit"/> (whose memory is reused for
    /// the next item: copy what you keep). Streams, one chunk and one record in memory at a time; the count and CRC
    /// at the end are checked once every item was visited (each chunk is authenticated before it is used).
    /// </summary>
    public static ulong Read(string path, StoreCipher cipher, Action<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>> visit)
    {
        using var sealedFile = SealedFileReader.OpenFile(path, cipher, SealedKind.Snapshot);
        return Read(sealedFile, path, visit);
    }

    /// <summary>
    /// Reads a snapshot as it arrives from <paramref name="source"/> (a blob download: decoding and loading overlap the
    /// transfer), as <see cref="Read(string, StoreCipher, Action{ReadOnlyMemory{byte}, ReadOnlyMemory{byte}})"/> does a file.
    /// </summary>
    public static ulong Read(Stream source, string name, StoreCipher cipher, Action<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>> visit)
    {
        using var sealedFile = new SealedFileReader(source, cipher, SealedKind.Snapshot, name);
        return Read(sealedFile, name, visit);
    }

    private static ulong Read(SealedFileReader sealedFile, string path, Action<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>> visit)
    {
        var reader = new RecordReader(sealedFile, path);
        Span<byte> head = stackalloc byte[8];
        reader.Read(head);
        if (!head.SequenceEqual(Magic)) throw new InvalidDataException($"Corrupt snapshot: {path}");
        reader.Read(head);
        var replayFrom = BinaryPrimitives.ReadUInt64LittleEndian(head);
        var buffer = new byte[4096];
        long count = 0;
        while (true)
        {
            var keyLength = (int)Math.Min(reader.ReadVarInt(), int.MaxValue);
            if (keyLength == 0) break;
            if (keyLength > 1 << 20) throw new InvalidDataException($"Corrupt snapshot: {path}");
            EnsureCapacity(ref buffer, keyLength);
            reader.Read(buffer.AsSpan(0, keyLength));
            var valueLength = (int)Math.Min(reader.ReadVarInt(), int.MaxValue);
            if (valueLength > 64 << 20) throw new InvalidDataException($"Corrupt snapshot: {path}");
            EnsureCapacity(ref buffer, keyLength + valueLength);
            reader.Read(buffer.AsSpan(keyLength, valueLength));
            visit(buffer.AsMemory(0, keyLength), buffer.AsMemory(keyLength, valueLength));
            count++;
        }

        reader.Read(head);
        var expected = reader.Crc;
        Span<byte> crc = stackalloc byte[4];
        reader.Read(crc, check: false);
        if ((long)BinaryPrimitives.ReadUInt64LittleEndian(head) != count || BinaryPrimitives.ReadUInt32LittleEndian(crc) != expected || !reader.AtEnd())
            throw new InvalidDataException($"Corrupt snapshot: {path}");
        sealedFile.ReadToEnd();
        return replayFrom;
    }

    private static void EnsureCapacity(ref byte[] buffer, int length)
    {
        if (buffer.Length >= length) return;
        var bigger = new byte[Math.Max(length, buffer.Length * 2)];
        buffer.AsSpan().CopyTo(bigger);
        buffer = bigger;
    }
}
