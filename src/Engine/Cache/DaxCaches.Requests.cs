using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Cache;

/// <summary>
/// The cache as a decorator over the read operations, for requests sent to a cluster's endpoint. GetItem and
/// BatchGetItem go through the item cache, Query and Scan through the query cache; a hit answers from memory and
/// never reaches the operation (so it consumes none of the table's capacity), a miss runs the operation, which
/// reads eventually consistently as the request asked, and caches its answer. ConsistentRead requests,
/// TransactGetItems and everything else pass through; writes pass through marked as sent through this cluster,
/// which makes the change observer write them through to its item cache.
/// </summary>
public sealed partial class DaxCaches
{
    private const string GetItemTarget = "DynamoDB_20120810.GetItem";
    private const string BatchGetItemTarget = "DynamoDB_20120810.BatchGetItem";
    private const string QueryTarget = "DynamoDB_20120810.Query";
    private const string ScanTarget = "DynamoDB_20120810.Scan";

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    /// <summary>Runs <paramref name="handler"/> for a request that arrived on cluster <paramref name="clusterName"/>'s endpoint.</summary>
    public ValueTask ExecuteAsync(string clusterName, string target, OperationHandler handler, OperationContext ctx, JsonElement req, ReadOnlyMemory<byte> body, Utf8JsonWriter w)
    {
        var cluster = Find(clusterName) ?? throw DaxErrors.ClusterNotFound(clusterName.ToLowerInvariant());
        var op = OpOf(target);
        if (op == CachedOp.None) return ThroughAsync(cluster, handler, ctx, req, w);

        if (cluster.TryServe(op, body.Span, NowMs, out var hit))
        {
            w.WriteRawValue(hit, skipInputValidation: true);
            return ValueTask.CompletedTask;
        }

        return op switch
        {
            CachedOp.GetItem => GetItemMissAsync(cluster, handler, ctx, req, body, w),
            CachedOp.BatchGetItem => BatchGetItemMissAsync(cluster, handler, ctx, req, body, w),
            _ => QueryMissAsync(cluster, op, handler, ctx, req, body, w),
        };
    }

    /// <summary>
    /// A hit answered before the request is even parsed: these exact bytes, sent to this operation, were parsed,
    /// validated and answered before. Only when signatures are not verified (AcceptAny): otherwise every request is
    /// authenticated and authorized first, and the hit is found by <see cref="ExecuteAsync"/>.
    /// </summary>
    public bool TryAnswer(string clusterName, string? target, ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        var op = OpOf(target);
        if (op == CachedOp.None || Find(clusterName) is not { } cluster || !cluster.TryServe(op, body, NowMs, out var hit)) return false;
        output.Write(hit);
        return true;
    }

    private static CachedOp OpOf(string? target) => target switch
    {
        GetItemTarget => CachedOp.GetItem,
        QueryTarget => CachedOp.Query,
        ScanTarget => CachedOp.Scan,
        BatchGetItemTarget => CachedOp.BatchGetItem,
        _ => CachedOp.None,
    };

    private static async ValueTask ThroughAsync(ClusterCache cluster, OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        // Flows with the request into the write path; an async method's change of it never leaks to its caller.
        Through.Value = cluster;
        await handler(ctx, req, w).ConfigureAwait(false);
    }

    private async ValueTask GetItemMissAsync(ClusterCache cluster, OperationHandler handler, OperationContext ctx, JsonElement req, ReadOnlyMemory<byte> body, Utf8JsonWriter w)
    {
        if (Consistent(req) || !TryItemKey(ctx, req, out var table, out var key))
        {
            await handler(ctx, req, w).ConfigureAwait(false);
            return;
        }

        var mode = CachedResponses.ModeOf(req);
        var tableName = table.Definition.Name;
        var fullItem = IsFullItemRequest(req);
        if (fullItem && cluster.TryServeItem(key, body.Span, mode, tableName, NowMs, out var rendered))
        {
            w.WriteRawValue(rendered, skipInputValidation: true);
            return;
        }

        cluster.CountMiss();
        var stamp = Stamp(key, table.Number);
        var answer = await RunAsync(handler, ctx, req, w).ConfigureAwait(false);
        cluster.FillItem(key, table.Number, stamp, body.ToArray(), CachedResponses.HitAnswer(answer, mode, [tableName], list: false), mode, tableName, fullItem, NowMs);
    }

    private async ValueTask QueryMissAsync(ClusterCache cluster, CachedOp op, OperationHandler handler, OperationContext ctx, JsonElement req, ReadOnlyMemory<byte> body, Utf8JsonWriter w)
    {
        if (Consistent(req) || TableOf(ctx, req) is not { } table)
        {
            await handler(ctx, req, w).ConfigureAwait(false);
            return;
        }

        cluster.CountMiss();
        var generation = cluster.QueryGeneration(table.Number);
        var answer = await RunAsync(handler, ctx, req, w).ConfigureAwait(false);
        var hit = CachedResponses.HitAnswer(answer, CachedResponses.ModeOf(req), [table.Definition.Name], list: false);
        cluster.FillQuery(op, table.Number, generation, body.ToArray(), hit, NowMs);
    }

    private async ValueTask BatchGetItemMissAsync(ClusterCache cluster, OperationHandler handler, OperationContext ctx, JsonElement req, ReadOnlyMemory<byte> body, Utf8JsonWriter w)
    {
        if (!TryBatchKeys(ctx, req, out var keys, out var tables))
        {
            await handler(ctx, req, w).ConfigureAwait(false);
            return;
        }

        cluster.CountMiss();
        var stamps = new FillStamp[keys.Length];
        for (var i = 0; i < keys.Length; i++) stamps[i] = Stamp(keys[i].Key, keys[i].Table);
        var answer = await RunAsync(handler, ctx, req, w).ConfigureAwait(false);
        if (HasUnprocessedKeys(answer)) return;
        var hit = CachedResponses.HitAnswer(answer, CachedResponses.ModeOf(req), tables, list: true);
        cluster.FillBatch(body.ToArray(), hit, keys, stamps, NowMs);
    }

    /// <summary>Runs the operation into a buffer of its own, sends its answer, and returns a copy of it to cache.</summary>
    private static async ValueTask<byte[]> RunAsync(OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        using var buffer = new PooledBufferWriter(1024);
        using (var inner = new Utf8JsonWriter(buffer, WriterOptions))
        {
            await handler(ctx, req, inner).ConfigureAwait(false);
        }

        w.WriteRawValue(buffer.WrittenSpan, skipInputValidation: true);
        return buffer.WrittenSpan.ToArray();
    }

    private static bool Consistent(JsonElement req) =>
        req.TryGetProperty("ConsistentRead"u8, out var v) && v.ValueKind == JsonValueKind.True;

    /// <summary>The table a request names, or null (then the operation itself reports what is wrong).</summary>
    private static TableState? TableOf(OperationContext ctx, JsonElement req) =>
        req.TryGetProperty("TableName"u8, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } name
            ? ctx.Engine.Database.FindTable(name) is { Definition.Restore: not { InProgress: true } } table ? table : null
            : null;

    private static bool TryItemKey(OperationContext ctx, JsonElement req, out TableState table, out byte[] key)
    {
        key = null!;
        table = TableOf(ctx, req)!;
        if (table == null || !req.TryGetProperty("Key"u8, out var keyJson) || keyJson.ValueKind != JsonValueKind.Object) return false;
        try
        {
            var (hash, range) = ItemRequest.ReadKey(keyJson, table.Definition);
            key = ItemRequest.EncodeKey(table.Number, hash, range);
            return true;
        }
        catch (DynamoException)
        {
            return false;
        }
    }

    /// <summary>A GetItem of the whole item: nothing but TableName, Key, ConsistentRead and ReturnConsumedCapacity.</summary>
    private static bool IsFullItemRequest(JsonElement req)
    {
        foreach (var member in req.EnumerateObject())
        {
            if (!(member.NameEquals("TableName"u8) || member.NameEquals("Key"u8) || member.NameEquals("ConsistentRead"u8) || member.NameEquals("ReturnConsumedCapacity"u8)))
                return false;
        }

        return true;
    }

    private static bool TryBatchKeys(OperationContext ctx, JsonElement req, out (byte[] Key, uint Table)[] keys, out string[] tables)
    {
        keys = [];
        tables = [];
        if (!req.TryGetProperty("RequestItems"u8, out var items) || items.ValueKind != JsonValueKind.Object) return false;
        var keyList = new List<(byte[], uint)>();
        var names = new List<string>();
        try
        {
            foreach (var entry in items.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.Object || Consistent(entry.Value)) return false;
                if (ctx.Engine.Database.FindTable(entry.Name) is not { Definition.Restore: not { InProgress: true } } table) return false;
                if (!entry.Value.TryGetProperty("Keys"u8, out var list) || list.ValueKind != JsonValueKind.Array) return false;
                foreach (var k in list.EnumerateArray())
                {
                    if (k.ValueKind != JsonValueKind.Object) return false;
                    var (hash, range) = ItemRequest.ReadKey(k, table.Definition);
                    keyList.Add((ItemRequest.EncodeKey(table.Number, hash, range), table.Number));
                }

                names.Add(table.Definition.Name);
            }
        }
        catch (DynamoException)
        {
            return false;
        }

        keys = [.. keyList];
        tables = [.. names];
        return keys.Length > 0;
    }

    private static bool HasUnprocessedKeys(byte[] answer)
    {
        using var doc = JsonDocument.Parse(answer);
        return doc.RootElement.TryGetProperty("UnprocessedKeys"u8, out var u) && u.ValueKind == JsonValueKind.Object && u.EnumerateObject().Any();
    }
}
