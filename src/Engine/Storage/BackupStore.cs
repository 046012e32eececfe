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
/// authenticated 64 KiB chunks) whose plaintext is, guarded by golden tests:
/// <code>
///   version 2 (written since backups stream):
///   "DDBBACKUP2" | u32 metaLength (LE) | BackupMeta JSON
///   | records: varint keyLength (≥ 1) | storage key | varint valueLength | stored value
///   | varint 0 (end) | u64 itemCount (LE) | u32 crc32 of everything before (LE)
///
///   version 1 (still read):
///   "DDBBACKUP1" | u32 metaLength (LE) | BackupMeta JSON
///   | u64 itemCount (LE) | itemCount × (varint keyLength | storage key | varint valueLength | stored value)
///   | u32 crc32 of everything before (LE)
/// </code>
/// Neither writing nor reading holds more than a chunk and a record in memory: a backup is written as its items are
/// read (first into a sealed temporary file, since the metadata at the front counts them), and read as it is restored.
/// </summary>
public sealed class BackupStore
{
    private static readonly byte[] MagicV1 = "DDBBACKUP1"u8.ToArray();
    private static readonly byte[] MagicV2 = "DDBBACKUP2"u8.ToArray();
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
        foreach (var tmp in Directory.EnumerateFiles(directory, "*.tmp")) File.Delete(tmp); // backups a crash interrupted
        foreach (var path in Directory.EnumerateFiles(directory, "*.bak"))
        {
            try
            {
                // Read through (streaming) so a damaged file is found now, not halfway through a restore.
                using var reader = BackupReader.Open(SealedFileReader.OpenFile(path, cipher, SealedKind.Backup), path);
                foreach (var _ in reader.Items())
                {
                }

                _backups[reader.Meta.Arn] = (reader.Meta, null);
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

    /// <summary>Starts a backup: add its items, then <see cref="AddAsync(BackupMeta, BackupWriter)"/> it.</summary>
    public BackupWriter Begin() => _directory == null
        ? new BackupWriter(new MemoryStream(), null)
        : BackupWriter.ToFile(Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".items.tmp"), _cipher!);

    /// <summary>Writes a backup durably (file fsynced, then renamed into place) and registers it.</summary>
    public async Task AddAsync(BackupMeta meta, IReadOnlyList<(byte[] Key, byte[] Stored)> items)
    {
        using var writer = Begin();
        foreach (var (key, stored) in items) writer.Add(key, stored);
        await AddAsync(meta, writer).ConfigureAwait(false);
    }

    /// <summary>Writes the backup whose items <paramref name="items"/> holds durably (fsynced, then renamed into place) and registers it.</summary>
    public async Task AddAsync(BackupMeta meta, BackupWriter items)
    {
        if (_directory == null)
        {
            var memory = new MemoryStream();
            items.CopyTo(memory, meta, null!);
            lock (_lock) _backups[meta.Arn] = (meta, memory.ToArray());
            return;
        }

        var path = PathOf(meta.Arn);
        var tmp = path + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            using (var sealedFile = new SealedFileWriter(fs, _cipher!, SealedKind.Backup, leaveOpen: true))
            {
                items.CopyTo(sealedFile, meta, _cipher!);
                sealedFile.Finish();
            }

            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        if (_blob != null) await _blob.UploadBackupAsync(path, CancellationToken.None).ConfigureAwait(false);
        lock (_lock) _backups[meta.Arn] = (meta, null);
    }

    /// <summary>The backup's items (storage keys of the source table, stored values), read as they are enumerated.</summary>
    public IEnumerable<(byte[] Key, byte[] Stored)> ReadItems(string arn)
    {
        byte[]? data;
        lock (_lock) data = _backups.TryGetValue(arn, out var b) ? b.Data : throw new KeyNotFoundException(arn);
        return Read(data, arn);
    }

    private IEnumerable<(byte[] Key, byte[] Stored)> Read(byte[]? data, string arn)
    {
        var path = data == null ? PathOf(arn) : arn;
        using var reader = BackupReader.Open(data != null ? new MemoryStream(data, writable: false) : SealedFileReader.OpenFile(path, _cipher!, SealedKind.Backup), path);
        foreach (var item in reader.Items()) yield return item;
    }

    public async Task DeleteAsync(string arn)
    {
        lock (_lock) _backups.Remove(arn);
        if (_directory == null) return;
        File.Delete(PathOf(arn));
        if (_blob != null) await _blob.DeleteBackupAsync(Path.GetFileName(PathOf(arn)), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The plaintext of a backup file (version 2).</summary>
    public static byte[] Encode(BackupMeta meta, IReadOnlyList<(byte[] Key, byte[] Stored)> items)
    {
        using var writer = new BackupWriter(new MemoryStream(), null);
        foreach (var (key, stored) in items) writer.Add(key, stored);
        var output = new MemoryStream();
        writer.CopyTo(output, meta, null!);
        return output.ToArray();
    }

    /// <summary>Reads a backup file's plaintext (either version) whole: tests and small files.</summary>
    public static (BackupMeta Meta, List<(byte[] Key, byte[] Stored)> Items) Decode(ReadOnlySpan<byte> data)
    {
        using var reader = BackupReader.Open(new MemoryStream(data.ToArray(), writable: false), "backup");
        return (reader.Meta, [.. reader.Items()]);
    }

    private string PathOf(string arn)
    {
        // The ARN's last part (after /backup/) is unique and file-name safe.
        var id = arn[(arn.LastIndexOf('/') + 1)..];
        return Path.Combine(_directory!, id + ".bak");
    }

    /// <summary>
    /// A backup's items as they are added: records (<c>varint length | key | varint length | value</c>) in a sealed
    /// temporary file (or in memory), copied behind the metadata once the items are all in.
    /// </summary>
    public sealed class BackupWriter : IDisposable
    {
        private readonly Stream _stream;
        private readonly string? _path;
        private readonly Persistence.RecordWriter _records;
        private readonly SealedFileWriter? _sealed;

        internal BackupWriter(Stream stream, string? path, SealedFileWriter? sealedFile = null)
        {
            _stream = stream;
            _path = path;
            _sealed = sealedFile;
            _records = new Persistence.RecordWriter((Stream?)sealedFile ?? stream);
        }

        internal static BackupWriter ToFile(string path, StoreCipher cipher)
        {
            var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
            return new BackupWriter(file, path, new SealedFileWriter(file, cipher, SealedKind.Backup, leaveOpen: true));
        }

        public long Count { get; private set; }

        public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored)
        {
            _records.WriteBytes(key);
            _records.WriteBytes(stored);
            Count++;
        }

        /// <summary>Writes the whole backup plaintext (metadata, the records, end, count, CRC) to <paramref name="output"/>.</summary>
        internal void CopyTo(Stream output, BackupMeta meta, StoreCipher cipher)
        {
            var writer = new Persistence.RecordWriter(output);
            writer.Write(MagicV2);
            var json = JsonSerializer.SerializeToUtf8Bytes(meta, BackupJsonContext.Default.BackupMeta);
            Span<byte> u64 = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(u64, (uint)json.Length);
            writer.Write(u64[..4]);
            writer.Write(json);
            Stream source;
            if (_sealed != null)
            {
                _sealed.Finish();
                _stream.Position = 0;
                source = new SealedFileReader(_stream, cipher, SealedKind.Backup, _path!);
            }
            else
            {
                _stream.Position = 0;
                source = _stream;
            }

            var buffer = new byte[1 << 16];
            int n;
            while ((n = source.Read(buffer)) > 0) writer.Write(buffer.AsSpan(0, n));
            writer.Write([0]);
            BinaryPrimitives.WriteUInt64LittleEndian(u64, (ulong)Count);
            writer.Write(u64);
            BinaryPrimitives.WriteUInt32LittleEndian(u64, writer.Crc);
            writer.WriteUnchecked(u64[..4]);
        }

        public void Dispose()
        {
            _sealed?.Dispose();
            _stream.Dispose();
        }
    }

    /// <summary>Reads a backup's plaintext from a stream: the metadata at once, the items as they are enumerated.</summary>
    private sealed class BackupReader : IDisposable
    {
        private readonly Stream _stream;
        private readonly Persistence.RecordReader _reader;
        private readonly bool _v1;
        private readonly ulong _v1Count;

        private BackupReader(Stream stream, Persistence.RecordReader reader, bool v1, ulong v1Count, BackupMeta meta)
        {
            _stream = stream;
            _reader = reader;
            _v1 = v1;
            _v1Count = v1Count;
            Meta = meta;
        }

        public BackupMeta Meta { get; }

        public static BackupReader Open(Stream stream, string name)
        {
            try
            {
                var reader = new Persistence.RecordReader(stream, name);
                Span<byte> magic = stackalloc byte[10];
                reader.Read(magic);
                var v1 = magic.SequenceEqual(MagicV1);
                if (!v1 && !magic.SequenceEqual(MagicV2)) throw new InvalidDataException("Not a backup file.");
                Span<byte> u64 = stackalloc byte[8];
                reader.Read(u64[..4]);
                var length = BinaryPrimitives.ReadUInt32LittleEndian(u64);
                var json = reader.ReadBytes(length, 16 << 20);
                var meta = JsonSerializer.Deserialize(json, BackupJsonContext.Default.BackupMeta) ?? throw new InvalidDataException("Empty backup metadata.");
                ulong count = 0;
                if (v1)
                {
                    reader.Read(u64);
                    count = BinaryPrimitives.ReadUInt64LittleEndian(u64);
                }

                return new BackupReader(stream, reader, v1, count, meta);
            }
            catch (JsonException e)
            {
                stream.Dispose();
                throw new InvalidDataException("Corrupt backup metadata.", e);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }

        public IEnumerable<(byte[] Key, byte[] Stored)> Items()
        {
            ulong count = 0;
            while (true)
            {
                if (_v1 && count == _v1Count) break;
                var keyLength = _reader.ReadVarInt();
                if (keyLength == 0 && !_v1) break;
                var key = _reader.ReadBytes(keyLength, 1 << 20);
                var stored = _reader.ReadBytes(_reader.ReadVarInt());
                count++;
                yield return (key, stored);
            }

            var u64 = new byte[8];
            if (!_v1)
            {
                _reader.Read(u64);
                if (BinaryPrimitives.ReadUInt64LittleEndian(u64) != count) throw new InvalidDataException("Corrupt backup file.");
            }

            var expected = _reader.Crc;
            _reader.Read(u64.AsSpan(0, 4), check: false);
            if (BinaryPrimitives.ReadUInt32LittleEndian(u64) != expected || !_reader.AtEnd()) throw new InvalidDataException("Corrupt backup file.");
            if (_stream is SealedFileReader sealedFile) sealedFile.ReadToEnd();
        }

        public void Dispose() => _stream.Dispose();
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BackupMeta))]
internal sealed partial class BackupJsonContext : JsonSerializerContext;
