using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Partitioning;

/// <summary>
/// BatchGetItem and BatchWriteItem across partitions: the whole request is validated first (partition 0's operation
/// in validate-only mode, so any error rejects it all and nothing is written, as on AWS), then split by the partition
/// of each key, the parts run concurrently, and their answers are merged. A part refused for throughput goes back
/// whole as unprocessed, unless every part was refused.
/// </summary>
public sealed partial class PartitionRouter
{
    private async ValueTask BatchAsync(OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w, bool write)
    {
        var parts = SplitBatch(req, write);
        if (parts == null)
        {
            await CallAsync(0, handler, ctx, req, w).ConfigureAwait(false);
            return;
        }

        if (parts.Count == 1)
        {
            foreach (var only in parts.Keys) await CallAsync(only, handler, ctx, req, w).ConfigureAwait(false);
            return;
        }

        var check = new OperationContext(Front, ctx.Region, ctx.RequestId) { Caller = ctx.Caller, ValidateOnly = true };
        await using (var none = new Utf8JsonWriter(Stream.Null, WriterOptions)) await handler(check, req, none).ConfigureAwait(false);

        var requests = new List<JsonDocument>(parts.Count);
        var answers = new List<Task<JsonDocument>>(parts.Count);
        try
        {
            foreach (var (k, items) in parts)
            {
                var part = PartRequest(req, items, write);
                requests.Add(part);
                answers.Add(CallForDocumentAsync(k, handler, ctx, part.RootElement));
            }

            try
            {
                await Task.WhenAll(answers).ConfigureAwait(false);
            }
            catch (DynamoException)
            {
                // Looked at part by part below.
            }

            var pages = new List<JsonDocument>();
            var refused = new List<JsonElement>();
            DynamoException? firstRefusal = null;
            for (var i = 0; i < answers.Count; i++)
            {
                if (answers[i].IsCompletedSuccessfully)
                {
                    pages.Add(answers[i].Result);
                    continue;
                }

                var error = answers[i].Exception!.InnerException!;
                if (error is not DynamoException { ErrorType: "ProvisionedThroughputExceededException" or "ThrottlingException" or "RequestLimitExceeded" } refusal)
                    throw error;
                firstRefusal ??= refusal;
                refused.Add(requests[i].RootElement.GetProperty("RequestItems"u8));
            }

            if (pages.Count == 0) throw firstRefusal!;
            try
            {
                WriteBatch(w, req, pages, refused, write);
            }
            finally
            {
                foreach (var page in pages) page.Dispose();
            }
        }
        finally
        {
            foreach (var part in requests) part.Dispose();
        }
    }

    /// <summary>
    /// Each write request or key of <c>RequestItems</c> by partition, as (table, element) pairs; null when the request
    /// cannot be split (its shape is wrong, a table is unknown, or it is over the size limit): partition 0 refuses it.
    /// </summary>
    private Dictionary<int, List<(string Table, JsonElement Element)>>? SplitBatch(JsonElement req, bool write)
    {
        if (!req.TryGetProperty("RequestItems"u8, out var tables) || tables.ValueKind != JsonValueKind.Object) return null;
        var parts = new Dictionary<int, List<(string, JsonElement)>>();
        var total = 0;
        foreach (var table in tables.EnumerateObject())
        {
            if (FindDefinition(table.Name) is not { } definition) return null;
            var list = write ? table.Value : table.Value.ValueKind == JsonValueKind.Object && table.Value.TryGetProperty("Keys"u8, out var keys) ? keys : default;
            if (list.ValueKind != JsonValueKind.Array) return null;
            foreach (var element in list.EnumerateArray())
            {
                if (++total > (write ? BatchWriteItem.MaxRequests : BatchGetItem.MaxKeys)) return null;
                var key = element;
                if (write)
                {
                    if (element.ValueKind != JsonValueKind.Object) return null;
                    if (element.TryGetProperty("PutRequest"u8, out var put) && put.ValueKind == JsonValueKind.Object && put.TryGetProperty("Item"u8, out var item)) key = item;
                    else if (element.TryGetProperty("DeleteRequest"u8, out var delete) && delete.ValueKind == JsonValueKind.Object && delete.TryGetProperty("Key"u8, out var k)) key = k;
                    else return null;
                }

                var partition = PartitionOfAttribute(key, definition.HashKey.Name);
                if (!parts.TryGetValue(partition, out var of)) parts[partition] = of = [];
                of.Add((table.Name, element));
            }
        }

        return parts;
    }

    /// <summary>One partition's batch: the request's other members, and per table its elements (a get keeps the table's other members).</summary>
    private static JsonDocument PartRequest(JsonElement req, List<(string Table, JsonElement Element)> items, bool write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            foreach (var member in req.EnumerateObject())
            {
                if (!member.NameEquals("RequestItems"u8))
                {
                    member.WriteTo(w);
                    continue;
                }

                w.WriteStartObject("RequestItems"u8);
                foreach (var table in member.Value.EnumerateObject())
                {
                    var any = false;
                    foreach (var (name, _) in items) any |= name == table.Name;
                    if (!any) continue;
                    if (write) w.WriteStartArray(table.Name);
                    else
                    {
                        w.WriteStartObject(table.Name);
                        foreach (var setting in table.Value.EnumerateObject())
                            if (!setting.NameEquals("Keys"u8)) setting.WriteTo(w);
                        w.WriteStartArray("Keys"u8);
                    }

                    foreach (var (name, element) in items)
                        if (name == table.Name) element.WriteTo(w);
                    w.WriteEndArray();
                    if (!write) w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory, DocumentOptions);
    }

    private static void WriteBatch(Utf8JsonWriter w, JsonElement req, List<JsonDocument> pages, List<JsonElement> refused, bool write)
    {
        var tables = new List<string>();
        foreach (var table in req.GetProperty("RequestItems"u8).EnumerateObject()) tables.Add(table.Name);
        w.WriteStartObject();
        if (!write) WriteTableArrays(w, "Responses", tables, pages, refused: null, alwaysEvery: true);
        if (write) WriteTableArrays(w, "UnprocessedItems", tables, pages, refused, alwaysEvery: false);
        else WriteUnprocessedKeys(w, tables, pages, refused);

        var capacities = new List<JsonElement>();
        foreach (var page in pages)
        {
            if (!page.RootElement.TryGetProperty("ConsumedCapacity"u8, out var list)) continue;
            foreach (var entry in list.EnumerateArray()) capacities.Add(entry);
        }

        if (capacities.Count > 0)
        {
            w.WriteStartArray("ConsumedCapacity"u8);
            foreach (var table in tables)
            {
                var ofTable = capacities.FindAll(c => c.TryGetProperty("TableName"u8, out var n) && n.ValueEquals(table));
                if (ofTable.Count > 0) WriteSum(w, ofTable);
            }

            w.WriteEndArray();
        }

        if (write && pages.Exists(p => p.RootElement.TryGetProperty("ItemCollectionMetrics"u8, out _)))
            WriteTableArrays(w, "ItemCollectionMetrics", tables, pages, refused: null, alwaysEvery: false);
        w.WriteEndObject();
    }

    /// <summary>
    /// A member that maps tables to arrays (Responses, UnprocessedItems, ItemCollectionMetrics): each table's arrays
    /// from every part concatenated, in the request's table order, and the refused parts' elements after them.
    /// </summary>
    private static void WriteTableArrays(Utf8JsonWriter w, string member, List<string> tables, List<JsonDocument> pages, List<JsonElement>? refused, bool alwaysEvery)
    {
        w.WriteStartObject(member);
        foreach (var table in tables)
        {
            var elements = new List<JsonElement>();
            foreach (var page in pages)
            {
                if (page.RootElement.TryGetProperty(member, out var map) && map.TryGetProperty(table, out var array))
                    foreach (var e in array.EnumerateArray()) elements.Add(e);
            }

            if (refused != null)
            {
                foreach (var part in refused)
                    if (part.TryGetProperty(table, out var array))
                        foreach (var e in array.EnumerateArray()) elements.Add(e);
            }

            if (elements.Count == 0 && !alwaysEvery) continue;
            w.WriteStartArray(table);
            foreach (var e in elements) e.WriteTo(w);
            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>UnprocessedKeys: per table its original members (projection, consistency) and the keys of every part that left some.</summary>
    private static void WriteUnprocessedKeys(Utf8JsonWriter w, List<string> tables, List<JsonDocument> pages, List<JsonElement> refused)
    {
        var sources = new List<JsonElement>();
        foreach (var page in pages)
            if (page.RootElement.TryGetProperty("UnprocessedKeys"u8, out var map)) sources.Add(map);
        sources.AddRange(refused);
        w.WriteStartObject("UnprocessedKeys"u8);
        foreach (var table in tables)
        {
            JsonElement? first = null;
            var keys = new List<JsonElement>();
            foreach (var source in sources)
            {
                if (!source.TryGetProperty(table, out var entry) || !entry.TryGetProperty("Keys"u8, out var list)) continue;
                first ??= entry;
                foreach (var k in list.EnumerateArray()) keys.Add(k);
            }

            if (first is not { } members || keys.Count == 0) continue;
            w.WriteStartObject(table);
            foreach (var setting in members.EnumerateObject())
                if (!setting.NameEquals("Keys"u8)) setting.WriteTo(w);
            w.WriteStartArray("Keys"u8);
            foreach (var k in keys) k.WriteTo(w);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }
}
