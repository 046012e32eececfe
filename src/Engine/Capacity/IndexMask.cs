using Serverless.Engine.Model;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Capacity;

/// <summary>
/// Which global secondary indexes a write may update, as known before it runs, as a bit per position in
/// <see cref="TableState.Indexes"/>: a write is refused while one of them is out of write capacity. What the write
/// actually changes in each index is charged afterwards by the index maintenance.
/// </summary>
internal static class IndexMask
{
    /// <summary>A put updates the indexes whose partition key its new item holds.</summary>
    public static ulong ForPut(TableState table, IReadOnlyDictionary<string, AttrValue> item)
    {
        var indexes = table.Indexes;
        if (indexes.Length == 0) return 0;
        ulong mask = 0;
        for (var i = 0; i < indexes.Length && i < 64; i++)
        {
            var d = indexes[i].Definition;
            if (d.Global && item.ContainsKey(d.HashKey.Name)) mask |= 1UL << i;
        }

        return mask;
    }

    /// <summary>As <see cref="ForPut(TableState, IReadOnlyDictionary{string, AttrValue})"/>, for an item still in its request JSON (no duplicate names).</summary>
    public static ulong ForPut(TableState table, System.Text.Json.JsonElement item)
    {
        var indexes = table.Indexes;
        if (indexes.Length == 0) return 0;
        ulong mask = 0;
        for (var i = 0; i < indexes.Length && i < 64; i++)
        {
            var d = indexes[i].Definition;
            if (d.Global && item.TryGetProperty(d.HashKey.Name, out _)) mask |= 1UL << i;
        }

        return mask;
    }

    /// <summary>A delete may remove an entry from any index.</summary>
    public static ulong ForDelete(TableState table)
    {
        var indexes = table.Indexes;
        ulong mask = 0;
        for (var i = 0; i < indexes.Length && i < 64; i++)
        {
            if (indexes[i].Definition.Global) mask |= 1UL << i;
        }

        return mask;
    }

    /// <summary>An update changes the indexes that hold one of the attributes it names (every attribute, for ALL).</summary>
    public static ulong ForUpdate(TableState table, IReadOnlyList<string> updatedNames) =>
        ForUpdate(table, updatedNames is List<string> list ? System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list) : [.. updatedNames]);

    /// <summary>As above, for names in a span.</summary>
    public static ulong ForUpdate(TableState table, ReadOnlySpan<string> updatedNames)
    {
        var indexes = table.Indexes;
        if (indexes.Length == 0 || updatedNames.Length == 0) return 0;
        ulong mask = 0;
        for (var i = 0; i < indexes.Length && i < 64; i++)
        {
            var d = indexes[i].Definition;
            if (!d.Global) continue;
            foreach (var name in updatedNames)
            {
                if (d.ProjectionType == "ALL" || d.IsKeyAttribute(name) || (d.NonKeyAttributes?.Contains(name) ?? false))
                {
                    mask |= 1UL << i;
                    break;
                }
            }
        }

        return mask;
    }
}
