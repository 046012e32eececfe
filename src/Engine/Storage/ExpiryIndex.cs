using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using Serverless.Engine.Model;

namespace Serverless.Engine.Storage;

/// <summary>
/// A table's items ordered by expiry time, for TTL: entries are <c>u64 expiry seconds (BE) | storage key</c>, so the
/// expired items are a prefix range and a sweep never scans the table. Like secondary indexes, it is maintained
/// under each item's stripe lock, checkpointed with the store and maintained by replay (src/Engine/Storage/Index).
/// </summary>
public sealed class ExpiryIndex(string attribute)
{
    /// <summary>AWS leaves items whose expiry is more than five years in the past alone.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(5 * 365);

    public string Attribute { get; } = attribute;

    public OrderedKeyIndex Entries { get; internal set; } = new();

    /// <summary>Whether the entries cover every item: false from enabling TTL on a table with items until the fill ends.</summary>
    internal bool Complete { get => Volatile.Read(ref _complete); set => Volatile.Write(ref _complete, value); }

    private bool _complete = true;

    /// <summary>The item's expiry in epoch seconds: its TTL attribute when that is a Number; otherwise none.</summary>
    public static long? ExpiryOf(IReadOnlyDictionary<string, AttrValue>? item, string attribute)
    {
        if (item == null || !item.TryGetValue(attribute, out var value) || value.Type != AttrType.N) return null;
        if (!decimal.TryParse(value.N, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)) return null;
        if (seconds < 0 || seconds > long.MaxValue / 2) return null;
        return (long)decimal.Floor(seconds);
    }

    public static ReadOnlySpan<byte> StorageKeyOf(ReadOnlySpan<byte> entry) => entry[8..];

    /// <summary>Applies one item's change; the caller holds the item's stripe lock.</summary>
    internal void Apply(ReadOnlySpan<byte> storageKey, IReadOnlyDictionary<string, AttrValue>? oldItem, IReadOnlyDictionary<string, AttrValue>? newItem)
    {
        var oldExpiry = ExpiryOf(oldItem, Attribute);
        var newExpiry = ExpiryOf(newItem, Attribute);
        if (oldExpiry == newExpiry && oldItem != null && newItem != null) return;
        if (oldExpiry is { } o) Entries.Remove(Entry(o, storageKey));
        if (newExpiry is { } n) Entries.Add(Entry(n, storageKey));
    }

    /// <summary>
    /// Appends to <paramref name="output"/> up to <paramref name="max"/> entries that expired before
    /// <paramref name="nowSeconds"/> (and not more than five years before), after <paramref name="after"/> if given.
    /// </summary>
    public int ReadExpired(long nowSeconds, byte[]? after, int max, List<byte[]> output)
    {
        var lower = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(lower, (ulong)Math.Max(0, nowSeconds - (long)MaxAge.TotalSeconds));
        var upper = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(upper, (ulong)nowSeconds);
        byte[] from = lower;
        var inclusive = true;
        if (after != null && after.AsSpan().SequenceCompareTo(lower) >= 0)
        {
            from = after;
            inclusive = false;
        }

        return Entries.Read(from, inclusive, upper, false, true, max, output);
    }

    private static byte[] Entry(long expiry, ReadOnlySpan<byte> storageKey)
    {
        var entry = new byte[8 + storageKey.Length];
        BinaryPrimitives.WriteUInt64BigEndian(entry, (ulong)expiry);
        storageKey.CopyTo(entry.AsSpan(8));
        return entry;
    }
}

/// <summary>The mutation a TTL sweep applies: delete the item if, under its lock, it is still expired.</summary>
internal sealed class ExpireMutation(string attribute, long nowSeconds) : IItemMutation
{
    public MutationKind Apply(ReadOnlySpan<byte> current, bool exists, IBufferWriter<byte> newValue)
    {
        if (!exists) return MutationKind.None;
        var expiry = ExpiryIndex.ExpiryOf(ItemCodec.Decode(StoredValue.Item(current)), attribute);
        return expiry is { } e && e < nowSeconds && e >= nowSeconds - (long)ExpiryIndex.MaxAge.TotalSeconds
            ? MutationKind.Delete
            : MutationKind.None;
    }
}
