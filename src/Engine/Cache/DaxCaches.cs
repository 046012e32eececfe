using System.Text.Json;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Cache;

/// <summary>
/// The engine's DAX-style cache clusters: the control plane's state (clusters, parameter groups; persisted in
/// <see cref="DaxState"/>), one <see cref="ClusterCache"/> per cluster, and the observer of every change the store
/// applies, which keeps the caches from serving what the tables no longer hold (see docs/cache.md).
/// </summary>
public sealed partial class DaxCaches : IChangeObserver
{
    /// <summary>The cluster a write was sent through (its endpoint), for write-through; null for writes sent to the table.</summary>
    private static readonly AsyncLocal<ClusterCache?> Through = new();

    private readonly DynamoEngine _engine;
    private readonly object _gate = new();
    private readonly string? _path;
    private readonly Persistence.BlobFolderMirror? _mirror;
    private DaxState _state;
    private volatile Dictionary<string, ClusterCache> _byName = new(StringComparer.OrdinalIgnoreCase);
    private volatile ClusterCache[] _clusters = [];

    // Change counters per key slot and per table slot, bumped by every applied change (FillStamp).
    private readonly long[] _keySeq = new long[4096];
    private readonly long[] _tableSeq = new long[256];

    private DaxCaches(DynamoEngine engine, string? path, DaxState state, Persistence.BlobFolderMirror? mirror)
    {
        _engine = engine;
        _path = path;
        _mirror = mirror;
        _state = state;
        Rebuild();
    }

    internal CacheOptions Options => _engine.Options.Cache;

    /// <summary>Loads the control plane's state (none in memory-only mode) and starts observing the store's changes.</summary>
    public static DaxCaches Open(DynamoEngine engine)
    {
        var options = engine.Options;
        var path = options.InMemory ? null : DaxState.PathOf(options.DataDirectory);

        // With blob storage the state also lives in the store's container (dax/state.json, sealed as on disk), so a
        // fresh instance, or one that lost its disk, has the clusters and parameter groups it was given.
        var mirror = path != null && options.Blob.ConnectionString is { Length: > 0 }
            ? new Persistence.BlobFolderMirror(options.Blob, Path.GetDirectoryName(path)!, "dax/")
            : null;
        mirror?.Restore();
        var state = path == null ? new DaxState() : DaxState.Load(path, engine.Database.Cipher);
        var caches = new DaxCaches(engine, path, state, mirror);
        engine.Database.Observe(caches);
        return caches;
    }

    internal DaxState State
    {
        get
        {
            lock (_gate) return _state;
        }
    }

    internal ClusterCache? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Applies a change to the state, saves it, then brings the running caches in line with it.</summary>
    internal void Change(Func<DaxState, DaxState> change)
    {
        lock (_gate)
        {
            var next = change(_state);
            if (_path != null)
            {
                next.Save(_path, _engine.Database.Cipher);
                _mirror?.Upload(_path, File.ReadAllBytes(_path));
            }
            _state = next;
            Rebuild();
        }
    }

    // Keeps the caches of clusters that still exist (a parameter change applies at once), drops the others.
    private void Rebuild()
    {
        var old = _byName;
        var next = new Dictionary<string, ClusterCache>(StringComparer.OrdinalIgnoreCase);
        foreach (var record in _state.Clusters)
        {
            var group = _state.ParameterGroups.Find(g => g.Name == record.ParameterGroupName);
            var settings = DaxParameters.Settings(group);
            if (old.TryGetValue(record.Name, out var cache)) cache.Settings = settings;
            else cache = new ClusterCache(record.Name, Options.MemoryBytes, settings);
            next[record.Name] = cache;
        }

        _byName = next;
        _clusters = [.. next.Values];
    }

    private long NowMs => _engine.Time.GetUtcNow().ToUnixTimeMilliseconds();

    private FillStamp Stamp(ReadOnlySpan<byte> key, uint table) => new(_keySeq, KeySlot(key), _tableSeq, (int)(table & 255));

    private static int KeySlot(ReadOnlySpan<byte> key)
    {
        var h = new HashCode();
        h.AddBytes(key);
        return h.ToHashCode() & 4095;
    }

    void IChangeObserver.ItemChanged(uint table, ReadOnlySpan<byte> key, bool hasNew, ReadOnlySpan<byte> newValue)
    {
        var clusters = _clusters;
        if (clusters.Length == 0) return;
        Interlocked.Increment(ref _keySeq[KeySlot(key)]);
        var through = Through.Value;
        var now = NowMs;
        foreach (var cluster in clusters) cluster.ItemChanged(table, key, hasNew, newValue, cluster == through, now);
    }

    void IChangeObserver.TableChanged(uint table)
    {
        Interlocked.Increment(ref _tableSeq[table & 255]);
        foreach (var cluster in _clusters) cluster.TableChanged(table);
    }

    /// <summary><c>"Caches":[{"ClusterName","Hits","Misses","Evictions","Items","Requests","Bytes","MemoryBytes"}]</c> in /admin/metrics.</summary>
    void IChangeObserver.WriteMetrics(Utf8JsonWriter w)
    {
        w.WriteStartArray("Caches"u8);
        foreach (var cluster in _clusters.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            var (items, requests, bytes) = cluster.Size();
            w.WriteStartObject();
            w.WriteString("ClusterName"u8, cluster.Name);
            w.WriteNumber("Hits"u8, cluster.Hits);
            w.WriteNumber("Misses"u8, cluster.Misses);
            w.WriteNumber("Evictions"u8, cluster.Evictions);
            w.WriteNumber("Items"u8, items);
            w.WriteNumber("Requests"u8, requests);
            w.WriteNumber("Bytes"u8, bytes);
            w.WriteNumber("MemoryBytes"u8, cluster.CapacityBytes);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
