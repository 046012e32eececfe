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

    /// <summary>Writes a snapshot of every item in <paramref name="store"/> to <paramref name="path"/>.</summary>
    public static long Write(string path, ulong replayFrom, FasterStore store, StoreCipher cipher)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var sealedFile = new SealedFileWriter(file, cipher, SealedKind.Snapshot, leaveOpen: true);
        var writer = new Writer(sealedFile);
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
        sealedFile.Write(crc);
        sealedFile.Finish();
        file.Flush(flushToDisk: true);
        return count;
    }

    /// <summary>Reads a snapshot: its replay point, and each item through <paramref name="visit"/>.</summary>
    public static ulong Read(string path, StoreCipher cipher, Action<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>> visit)
    {
        var data = SealedFile.ReadFile(path, cipher, SealedKind.Snapshot);
        if (data.Length < Magic.Length + 21 || !data.AsSpan().StartsWith(Magic)
            || Crc32.Compute(data.AsSpan(0, data.Length - 4)) != BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(data.Length - 4)))
            throw new InvalidDataException($"Corrupt snapshot: {path}");
        var replayFrom = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(Magic.Length));
        var pos = Magic.Length + 8;
        long count = 0;
        while (true)
        {
            pos += VarInt.Read(data.AsSpan(pos), out var keyLength);
            if (keyLength == 0) break;
            var key = data.AsMemory(pos, (int)keyLength);
            pos += (int)keyLength;
            pos += VarInt.Read(data.AsSpan(pos), out var valueLength);
            visit(key, data.AsMemory(pos, (int)valueLength));
            pos += (int)valueLength;
            count++;
        }

        if ((long)BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(pos)) != count) throw new InvalidDataException($"Corrupt snapshot: {path}");
        return replayFrom;
    }

    private sealed class Writer(Stream stream)
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
    }
}
