using System.Collections.Concurrent;
using Serverless.Engine.Model;

namespace Serverless.Engine.Storage;

/// <summary>
/// The version of an item of a global table: when and where its last write happened (the write's timestamp in its
/// own region, that region, and its sequence number there). Last writer wins: the later timestamp, then the greater
/// region name, then the greater sequence number. <see cref="Deleted"/> marks a tombstone.
/// </summary>
public readonly record struct ItemVersion(long TimestampMicros, string Region, ulong Lsn, bool Deleted)
{
    /// <summary>Whether this version wins over <paramref name="other"/>; false when they are the same write.</summary>
    public bool IsNewerThan(in ItemVersion other)
    {
        if (TimestampMicros != other.TimestampMicros) return TimestampMicros > other.TimestampMicros;
        var region = string.CompareOrdinal(Region, other.Region);
        if (region != 0) return region > 0;
        return Lsn > other.Lsn;
    }
}

/// <summary>
/// The versions of one global table's items, by storage key, changed under each key's stripe lock together with the
/// store. Kept in memory: it is rebuilt at start-up from the change log, whose retention (24 hours, the stream's)
/// bounds how old a replicated write can be; an item with no entry was last written before anything a peer can
/// still send, so every incoming write is newer. Deletes leave tombstones for as long, so that a late older write
/// cannot bring an item back; <see cref="Trim"/> forgets entries past the retention.
/// </summary>
public sealed class ItemVersions
{
    private readonly ConcurrentDictionary<byte[], ItemVersion> _versions = new(ByteArrayComparer.Instance);

    public int Count => _versions.Count;

    public bool TryGet(byte[] key, out ItemVersion version) => _versions.TryGetValue(key, out version);

    /// <summary>Sets the version of a key the caller holds the stripe lock of.</summary>
    public void Set(byte[] key, in ItemVersion version) => _versions[key] = version;

    /// <summary>Keeps whichever of the known and <paramref name="version"/> is newer (the start-up rebuild runs beside writes).</summary>
    public void Merge(byte[] key, in ItemVersion version)
    {
        var v = version;
        _versions.AddOrUpdate(key, v, (_, known) => v.IsNewerThan(known) ? v : known);
    }

    /// <summary>Forgets versions older than <paramref name="olderThanMicros"/>; returns how many tombstones went.</summary>
    public int Trim(long olderThanMicros)
    {
        var tombstones = 0;
        foreach (var (key, version) in _versions)
        {
            if (version.TimestampMicros >= olderThanMicros) continue;
            if (_versions.TryRemove(new KeyValuePair<byte[], ItemVersion>(key, version)) && version.Deleted) tombstones++;
        }

        return tombstones;
    }

    /// <summary>How many entries are tombstones (for metrics and tests).</summary>
    public int TombstoneCount()
    {
        var n = 0;
        foreach (var (_, version) in _versions)
        {
            if (version.Deleted) n++;
        }

        return n;
    }
}
