using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>What a backup is: its identity, when it was taken, and the table as it was then.</summary>
public sealed class BackupMeta
{
    public required string Arn { get; init; }

    public required string Name { get; init; }

    /// <summary>Seconds since the Unix epoch: the moment the backup's items are consistent at.</summary>
    public required double CreatedAt { get; init; }

    public required long SizeBytes { get; init; }

    public required long ItemCount { get; init; }

    /// <summary>USER (CreateBackup) or SYSTEM.</summary>
    public string Type { get; init; } = "USER";

    public required TableDefinition Table { get; init; }
}

/// <summary>
/// On-demand backups, each a file of its own under <c>backups/</c> in the data directory (or held in memory in
/// memory-only mode). Each file is a <see cref="SealedFile"/> (kind Backup: encrypted with the store's data key, in
/// authenticated 64 KiB chunks) whose plaintext is, guarded by a golden test:
/// <code>
///   "DDBBACKUP1" | u32 metaLength (LE) | BackupMeta JSON
///   | u64 itemCount (LE) | itemCount × (varint keyLength | storage key | varint valueLength | stored value)
///   | u32 crc32 of everything before (LE)
/// </code>
/// </summary>
public sealed class BackupStore
{
    private static readonly byte[] Magic = "DDBBACKUP1"u8.ToArray();
    private readonly string? _directory;
    private readonly Persistence.BlobPersistence? _blob;
    private readonly StoreCipher? _cipher;
    private readonly object _lock = new();
    private readonly Dictionary<string, (BackupMeta Meta, byte[]? Data)> _backups = new(StringComparer.Ordinal);

    /// <param name="directory">Where backup files live; null keeps them in memory.</param>
    /// <param name="cipher">The store's data key; required with a directory.</param>
    /// <param name="blob">With blob storage, every backup is also uploaded there (the directory is then a cache).</param>
    public BackupStore(string? directory, StoreCipher? cipher = null, Persistence.BlobPersistence? blob = null)
    {
        _directory = directory;
        _blob = blob;
        _cipher = cipher;
        if (directory == null) return;
        if (cipher == null) throw new ArgumentNullException(nameof(cipher), "Backup files are always encrypted.");
        Directory.CreateDirectory(directory);
        foreach (var path in Directory.EnumerateFiles(directory, "*.bak"))
        {
            try
            {
                var meta = ReadMeta(SealedFile.ReadFile(path, cipher, SealedKind.Backup));
                _backups[meta.Arn] = (meta, null);
            }
            catch (InvalidDataException)
            {
                // Backups are renamed into place once complete, so this one was damaged or tampered with: it is
                // not listed and never restored from (the file stays for inspection).
            }
        }
    }

    public IReadOnlyList<BackupMeta> List()
    {
        lock (_lock) return [.. _backups.Values.Select(b => b.Meta).OrderBy(m => m.CreatedAt)];
    }

    public BackupMeta? Find(string arn)
    {
        lock (_lock) return _backups.TryGetValue(arn, out var b) ? b.Meta : null;
    }

    /// <summary>Writes a backup durably (file fsynced, then renamed into place) and registers it.</summary>
    public void Add(BackupMeta meta, IReadOnlyList<(byte[] Key, byte[] Stored)> items)
    {
        var bytes = Encode(meta, items);
        if (_directory != null)
        {
            var path = PathOf(meta.Arn);
            var tmp = path + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                fs.Write(SealedFile.Seal(_cipher!, SealedKind.Backup, bytes));
                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
            _blob?.UploadBackup(path);
        }

        lock (_lock) _backups[meta.Arn] = (meta, _directory == null ? bytes : null);
    }

    /// <summary>The backup's items (storage keys of the source table, stored values).</summary>
    public List<(byte[] Key, byte[] Stored)> ReadItems(string arn)
    {
        byte[]? data;
        lock (_lock) data = _backups.TryGetValue(arn, out var b) ? b.Data : throw new KeyNotFoundException(arn);
        return Decode(data ?? SealedFile.ReadFile(PathOf(arn), _cipher!, SealedKind.Backup)).Items;
    }

    public void Delete(string arn)
    {
        lock (_lock) _backups.Remove(arn);
        if (_directory == null) return;
        File.Delete(PathOf(arn));
        _blob?.DeleteBackup(Path.GetFileName(PathOf(arn)));
    }

    public static byte[] Encode(BackupMeta meta, IReadOnlyList<(byte[] Key, byte[] Stored)> items)
    {
        var output = new ArrayBufferWriter<byte>();
        output.Write(Magic);
        var json = JsonSerializer.SerializeToUtf8Bytes(meta, BackupJsonContext.Default.BackupMeta);
        var span = output.GetSpan(4);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)json.Length);
        output.Advance(4);
        output.Write(json);
        span = output.GetSpan(8);
        BinaryPrimitives.WriteUInt64LittleEndian(span, (ulong)items.Count);
        output.Advance(8);
        foreach (var (key, stored) in items)
        {
            WriteBytes(output, key);
            WriteBytes(output, stored);
        }

        var crc = Crc32.Compute(output.WrittenSpan);
        span = output.GetSpan(4);
        BinaryPrimitives.WriteUInt32LittleEndian(span, crc);
        output.Advance(4);
        return output.WrittenSpan.ToArray();
    }

    public static (BackupMeta Meta, List<(byte[] Key, byte[] Stored)> Items) Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < Magic.Length + 16 || Crc32.Compute(data[..^4]) != BinaryPrimitives.ReadUInt32LittleEndian(data[^4..]))
            throw new InvalidDataException("Corrupt backup file.");
        var meta = ReadMeta(data);
        var pos = Magic.Length + 4 + (int)BinaryPrimitives.ReadUInt32LittleEndian(data[Magic.Length..]);
        var count = BinaryPrimitives.ReadUInt64LittleEndian(data[pos..]);
        pos += 8;
        var items = new List<(byte[], byte[])>((int)Math.Min(count, 1_000_000));
        for (ulong i = 0; i < count; i++)
        {
            var key = ReadBytes(data, ref pos);
            var stored = ReadBytes(data, ref pos);
            items.Add((key, stored));
        }

        return (meta, items);
    }

    private static BackupMeta ReadMeta(ReadOnlySpan<byte> data)
    {
        if (data.Length < Magic.Length + 4 || !data.StartsWith(Magic)) throw new InvalidDataException("Not a backup file.");
        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data[Magic.Length..]);
        if (Magic.Length + 4 + length > data.Length) throw new InvalidDataException("Truncated backup file.");
        return JsonSerializer.Deserialize(data.Slice(Magic.Length + 4, length), BackupJsonContext.Default.BackupMeta)
            ?? throw new InvalidDataException("Empty backup metadata.");
    }

    private string PathOf(string arn)
    {
        // The ARN's last part (after /backup/) is unique and file-name safe.
        var id = arn[(arn.LastIndexOf('/') + 1)..];
        return Path.Combine(_directory!, id + ".bak");
    }

    private static void WriteBytes(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        var span = output.GetSpan(10 + value.Length);
        var n = VarInt.Write(span, (ulong)value.Length);
        value.CopyTo(span[n..]);
        output.Advance(n + value.Length);
    }

    private static byte[] ReadBytes(ReadOnlySpan<byte> data, ref int pos)
    {
        pos += VarInt.Read(data[pos..], out var length);
        var value = data.Slice(pos, (int)length).ToArray();
        pos += (int)length;
        return value;
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BackupMeta))]
internal sealed partial class BackupJsonContext : JsonSerializerContext;
