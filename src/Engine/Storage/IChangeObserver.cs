namespace Serverless.Engine.Storage;

/// <summary>
/// Receives every change applied to the store, from whatever path it came: a request, a transaction, a TTL delete,
/// a restore's load, a replica's apply. <see cref="ItemChanged"/> runs under the item's stripe lock, right after the
/// store changed and before the change is acknowledged, so an observer sees each item's changes in order; it must
/// be quick and must not take item locks or do I/O. The DAX-style cache (src/Engine/Cache) invalidates through it.
/// </summary>
public interface IChangeObserver
{
    /// <summary>An item of table <paramref name="table"/> was written (<paramref name="hasNew"/>) or deleted; <paramref name="newValue"/> is the stored value.</summary>
    void ItemChanged(uint table, ReadOnlySpan<byte> key, bool hasNew, ReadOnlySpan<byte> newValue);

    /// <summary>A table's definition was created, changed or dropped.</summary>
    void TableChanged(uint table);

    /// <summary>Adds the observer's members to the <c>/admin/metrics</c> object.</summary>
    void WriteMetrics(System.Text.Json.Utf8JsonWriter writer);
}
