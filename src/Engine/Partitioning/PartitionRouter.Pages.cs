using System.Text.Json;
using Serverless.Engine.Operations;

namespace Serverless.Engine.Partitioning;

/// <summary>
/// Scan (and Query on a global index) across partitions: from the partition holding ExclusiveStartKey, in partition
/// order, which is hash order. A page continues into the next partition while it has room (Limit left, no
/// LastEvaluatedKey from the partition); a partition that stops on Limit or 1 MB gives the LastEvaluatedKey,
/// returned as is, whose partition key then names the partition to resume in.
/// </summary>
public sealed partial class PartitionRouter
{
    private async ValueTask PagesAsync(OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w, (int First, int Last) range)
    {
        var start = range.First;
        if (req.TryGetProperty("ExclusiveStartKey"u8, out var startKey) && DefinitionOf(req) is { } definition)
            start = Math.Clamp(PartitionOfAttribute(startKey, definition.HashKey.Name), range.First, range.Last);
        if (start == range.Last)
        {
            await CallAsync(start, handler, ctx, req, w).ConfigureAwait(false);
            return;
        }

        long? limit = req.TryGetProperty("Limit"u8, out var limitJson) && limitJson.TryGetInt64(out var l) && l > 0 ? l : null;
        var pages = new List<JsonDocument>();
        try
        {
            long count = 0, scanned = 0;
            JsonElement? last = null;
            for (var k = start; k <= range.Last; k++)
            {
                JsonDocument page;
                if (k == start) page = await CallForDocumentAsync(k, handler, ctx, req).ConfigureAwait(false);
                else
                {
                    using var next = Continuation(req, limit - scanned);
                    page = await CallForDocumentAsync(k, handler, ctx, next.RootElement).ConfigureAwait(false);
                }

                pages.Add(page);
                var root = page.RootElement;
                if (root.TryGetProperty("Count"u8, out var c)) count += c.GetInt64();
                if (root.TryGetProperty("ScannedCount"u8, out var s)) scanned += s.GetInt64();
                if (root.TryGetProperty("LastEvaluatedKey"u8, out var key))
                {
                    last = key;
                    break;
                }

                if (scanned >= limit) break;
            }

            WritePage(w, pages, count, scanned, last);
        }
        finally
        {
            foreach (var page in pages) page.Dispose();
        }
    }

    /// <summary>The request for the next partition: the same, without ExclusiveStartKey, with what is left of Limit.</summary>
    private static JsonDocument Continuation(JsonElement req, long? limit)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            foreach (var member in req.EnumerateObject())
            {
                if (member.NameEquals("ExclusiveStartKey"u8) || member.NameEquals("Limit"u8)) continue;
                member.WriteTo(w);
            }

            if (limit is { } left) w.WriteNumber("Limit"u8, left);
            w.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory, DocumentOptions);
    }

    private static void WritePage(Utf8JsonWriter w, List<JsonDocument> pages, long count, long scanned, JsonElement? last)
    {
        w.WriteStartObject();
        if (pages[0].RootElement.TryGetProperty("Items"u8, out _))
        {
            w.WriteStartArray("Items"u8);
            foreach (var page in pages)
            {
                if (!page.RootElement.TryGetProperty("Items"u8, out var items)) continue;
                foreach (var item in items.EnumerateArray()) item.WriteTo(w);
            }

            w.WriteEndArray();
        }

        w.WriteNumber("Count"u8, count);
        w.WriteNumber("ScannedCount"u8, scanned);
        if (last is { } key)
        {
            w.WritePropertyName("LastEvaluatedKey"u8);
            key.WriteTo(w);
        }

        var capacities = new List<JsonElement>();
        foreach (var page in pages)
            if (page.RootElement.TryGetProperty("ConsumedCapacity"u8, out var cc)) capacities.Add(cc);
        if (capacities.Count > 0)
        {
            w.WritePropertyName("ConsumedCapacity"u8);
            WriteSum(w, capacities);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// Merges ConsumedCapacity objects: numbers (capacity units) are summed, nested objects (Table, per-index entries)
    /// merged the same way, other values (TableName) taken from the first that has them.
    /// </summary>
    private static void WriteSum(Utf8JsonWriter w, List<JsonElement> objects)
    {
        var names = new List<string>();
        foreach (var o in objects)
        {
            foreach (var member in o.EnumerateObject())
                if (!names.Contains(member.Name)) names.Add(member.Name);
        }

        w.WriteStartObject();
        foreach (var name in names)
        {
            var values = new List<JsonElement>();
            foreach (var o in objects)
                if (o.TryGetProperty(name, out var v)) values.Add(v);
            switch (values[0].ValueKind)
            {
                case JsonValueKind.Number:
                    double sum = 0;
                    foreach (var v in values) sum += v.GetDouble();
                    w.WriteNumber(name, sum);
                    break;
                case JsonValueKind.Object:
                    w.WritePropertyName(name);
                    WriteSum(w, values);
                    break;
                default:
                    w.WritePropertyName(name);
                    values[0].WriteTo(w);
                    break;
            }
        }

        w.WriteEndObject();
    }
}
