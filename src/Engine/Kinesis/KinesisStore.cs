using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Kinesis;

/// <summary>The persisted Kinesis catalog: every stream and its shards. Sealed with the store's data key (kind KinesisCatalog).</summary>
public sealed class KinesisCatalog
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public List<KinesisStreamDefinition> Streams { get; init; } = [];
}

/// <summary>
/// The Kinesis Data Streams of one engine: the catalog (saved atomically on every change) and each shard's
/// <see cref="ShardLog"/> under <c>{data}/kinesis/</c>, or in memory in the in-memory mode. Thread-safe: catalog
/// changes take one lock; appends take their shard's.
/// </summary>
public sealed class KinesisStore : IDisposable
{
    private readonly string? _root;
    private readonly StoreCipher _cipher;
    private readonly KinesisOptions _options;
    private readonly bool _sync;
    private readonly Persistence.BlobFolderMirror? _mirror;
    private readonly object _catalogLock = new();
    private Dictionary<string, KinesisStream> _streams = new(StringComparer.Ordinal);

    private KinesisStore(string? root, StoreCipher cipher, KinesisOptions options, bool sync, Persistence.BlobFolderMirror? mirror)
    {
        _root = root;
        _mirror = mirror;
        _cipher = cipher;
        _options = options;
        _sync = sync;
    }

    public KinesisOptions Options => _options;

    /// <summary>The blob copy of the streams (the cloud backend), or null.</summary>
    public Persistence.BlobFolderMirror? Mirror => _mirror;

    /// <summary>
    /// Opens the streams of <paramref name="root"/> (null: in memory), recovering every shard; with a
    /// <paramref name="mirror"/>, first downloads what blob storage has and the folder lacks.
    /// </summary>
    public static KinesisStore Open(string? root, StoreCipher cipher, KinesisOptions options, bool sync, Persistence.BlobFolderMirror? mirror = null)
    {
        var store = new KinesisStore(root, cipher, options, sync, mirror);
        if (root == null) return store;
        Directory.CreateDirectory(root);
        mirror?.Restore();
        var path = Path.Combine(root, "catalog.json");
        if (File.Exists(path))
        {
            var catalog = JsonSerializer.Deserialize(SealedFile.ReadFile(path, cipher, SealedKind.KinesisCatalog), KinesisJsonContext.Default.KinesisCatalog)
                ?? throw new InvalidDataException($"Kinesis catalog {path} is empty.");
            if (catalog.Format != KinesisCatalog.CurrentFormat)
                throw new InvalidDataException($"Kinesis catalog {path} has format {catalog.Format}; this build reads format {KinesisCatalog.CurrentFormat}.");
            foreach (var definition in catalog.Streams) store._streams[definition.Name] = store.Materialize(definition);
        }

        // Folders of streams no longer in the catalog: a crash between a DeleteStream's catalog save and its cleanup.
        var streamsFolder = Path.Combine(root, "streams");
        if (Directory.Exists(streamsFolder))
        {
            var live = new HashSet<string>(StringComparer.Ordinal);
            foreach (var s in store._streams.Values) live.Add(s.Definition.FolderName);
            foreach (var folder in Directory.GetDirectories(streamsFolder))
                if (!live.Contains(Path.GetFileName(folder))) Directory.Delete(folder, recursive: true);
        }

        return store;
    }

    public KinesisStream? Find(string name) => Volatile.Read(ref _streams).TryGetValue(name, out var s) ? s : null;

    /// <summary>Every stream, ordered by name (ListStreams' order).</summary>
    public List<KinesisStream> List()
    {
        var list = new List<KinesisStream>(Volatile.Read(ref _streams).Values);
        list.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return list;
    }

    public int OpenShardCount()
    {
        var n = 0;
        foreach (var s in Volatile.Read(ref _streams).Values) n += s.OpenShards.Length;
        return n;
    }

    /// <summary>
    /// A split, merge or shard-count update: under the catalog lock, <paramref name="plan"/> validates the request
    /// against the stream as it is now (throwing its errors) and returns the shards to close and the children to make.
    /// The catalog is saved with both before any record can reach a child; then the children are published to
    /// writers, and only then are the parents closed, so an append that lost the race to a parent is routed again.
    /// A crash after the save leaves the parents closed and the children empty and open: nothing acknowledged is lost.
    /// </summary>
    public void Reshard(KinesisStream stream, Func<KinesisStream, (List<int> Closing, List<ShardDefinition> Children)> plan, long nowMs)
    {
        lock (_catalogLock)
        {
            var (closing, children) = plan(stream);
            var definitions = stream.Definition.Shards;
            var before = new List<ShardDefinition>(definitions);
            foreach (var index in closing) definitions[index] = definitions[index] with { ClosedMs = nowMs };
            definitions.AddRange(children);
            try
            {
                Save(_streams);
            }
            catch
            {
                definitions.Clear();
                definitions.AddRange(before);
                throw;
            }

            var current = stream.Shards;
            var all = new Shard[definitions.Count];
            Array.Copy(current, all, current.Length);
            for (var i = current.Length; i < all.Length; i++) all[i] = MaterializeShard(stream.Definition, definitions[i]);
            foreach (var index in closing) all[index].Definition = definitions[index];
            stream.Publish(all);
            foreach (var index in closing) all[index].Log.Close();
        }
    }

    /// <summary>Adds a stream; false when one of that name exists. The catalog is saved before this returns.</summary>
    public bool TryCreate(KinesisStreamDefinition definition, out KinesisStream stream)
    {
        lock (_catalogLock)
        {
            if (_streams.TryGetValue(definition.Name, out stream!)) return false;
            stream = Materialize(definition);
            var next = new Dictionary<string, KinesisStream>(_streams, StringComparer.Ordinal) { [definition.Name] = stream };
            Save(next);
            Volatile.Write(ref _streams, next);
            return true;
        }
    }

    /// <summary>Removes a stream and its records.</summary>
    public bool Delete(string name)
    {
        KinesisStream? stream;
        lock (_catalogLock)
        {
            if (!_streams.TryGetValue(name, out stream)) return false;
            var next = new Dictionary<string, KinesisStream>(_streams, StringComparer.Ordinal);
            next.Remove(name);
            Save(next);
            Volatile.Write(ref _streams, next);
            stream.Deleted = true;
        }

        foreach (var shard in stream.Shards) shard.Log.Dispose();
        if (_root != null)
        {
            var folder = Path.Combine(_root, "streams", stream.Definition.FolderName);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            _mirror?.DeleteFolder(folder);
        }

        return true;
    }

    /// <summary>Changes a stream's definition (retention, tags) under the catalog lock and saves the catalog.</summary>
    public void Update(KinesisStream stream, Action<KinesisStreamDefinition> change)
    {
        lock (_catalogLock)
        {
            change(stream.Definition);
            Save(_streams);
        }
    }

    /// <summary>Trims every shard at its stream's retention period; returns how many records became unreadable.</summary>
    public long TrimExpired(DateTimeOffset now)
    {
        long trimmed = 0;
        foreach (var stream in List())
        {
            var cutoff = (now - TimeSpan.FromHours(stream.Definition.RetentionHours)).ToUnixTimeMilliseconds();
            foreach (var shard in stream.Shards)
            {
                if (stream.Deleted) break;
                trimmed += shard.Log.Trim(cutoff);
            }
        }

        return trimmed;
    }

    public void Dispose()
    {
        foreach (var s in Volatile.Read(ref _streams).Values)
            foreach (var shard in s.Shards) shard.Log.Dispose();
    }

    private KinesisStream Materialize(KinesisStreamDefinition definition)
    {
        var shards = new Shard[definition.Shards.Count];
        for (var i = 0; i < shards.Length; i++) shards[i] = MaterializeShard(definition, definition.Shards[i]);
        return new KinesisStream(definition, shards);
    }

    private Shard MaterializeShard(KinesisStreamDefinition stream, ShardDefinition d)
    {
        var log = _root == null
            ? ShardLog.InMemory(_cipher)
            : ShardLog.Open(Path.Combine(_root, "streams", stream.FolderName, SequenceNumbers.ShardId(d.Index)), _cipher, _options.SegmentBytes, _sync, _mirror);
        if (d.ClosedMs != null) log.Close();
        return new Shard(d, log);
    }

    private void Save(Dictionary<string, KinesisStream> streams)
    {
        if (_root == null) return;
        var catalog = new KinesisCatalog();
        foreach (var s in streams.Values) catalog.Streams.Add(s.Definition);
        catalog.Streams.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var path = Path.Combine(_root, "catalog.json");
        SealedFile.WriteAtomically(path, _cipher, SealedKind.KinesisCatalog, JsonSerializer.SerializeToUtf8Bytes(catalog, KinesisJsonContext.Default.KinesisCatalog));
        _mirror?.Upload(path, File.ReadAllBytes(path));
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KinesisCatalog))]
internal sealed partial class KinesisJsonContext : JsonSerializerContext;
