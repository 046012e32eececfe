namespace Serverless.Engine.Storage;

/// <summary>An item's old and new images, decoded once for index maintenance, with the item-collection change.</summary>
internal sealed class IndexedImages
{
    public IReadOnlyDictionary<string, Model.AttrValue>? Old { get; private init; }

    public IReadOnlyDictionary<string, Model.AttrValue>? New { get; private init; }

    /// <summary>Change of the item collection's size: item sizes plus local index entry sizes.</summary>
    public long CollectionDelta { get; private init; }

    public long CollectionBytes { get; set; } = -1;

    public static IndexedImages Of(TableState table, bool hasOld, ReadOnlySpan<byte> old, bool hasNew, ReadOnlySpan<byte> @new)
    {
        var oldItem = hasOld ? Model.ItemCodec.Decode(StoredValue.Item(old)) : null;
        var newItem = hasNew ? Model.ItemCodec.Decode(StoredValue.Item(@new)) : null;
        long delta = 0;
        if (table.Collections != null)
        {
            var definition = table.Definition;
            delta = CollectionShare(table, definition, newItem, hasNew ? StoredValue.ItemSize(@new) : 0)
                - CollectionShare(table, definition, oldItem, hasOld ? StoredValue.ItemSize(old) : 0);
        }

        return new IndexedImages { Old = oldItem, New = newItem, CollectionDelta = delta };
    }

    private static long CollectionShare(TableState table, TableDefinition definition, IReadOnlyDictionary<string, Model.AttrValue>? item, int itemSize)
    {
        if (item == null) return 0;
        long size = itemSize;
        foreach (var index in table.Indexes)
        {
            if (!index.Definition.Global && index.Contains(item)) size += index.EntrySize(item, definition);
        }

        return size;
    }
}
