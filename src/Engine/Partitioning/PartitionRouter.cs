using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Partitioning;

/// <summary>
/// Routes parsed, authorized requests to the partitions of a store split by partition-key hash (docs/scale-out.md):
/// item operations and Query on the table or a local index to one partition, Scan across them in hash order, batches
/// split and merged, catalog changes to every partition. Requests it cannot route (no key, a malformed one) go to
/// partition 0, whose operation refuses them exactly as a single store would.
/// </summary>
/// <remarks>
/// The request handler asks for a routed handler only when the engine has a router (one null check), so a store
/// without partitions never reaches this type.
/// </remarks>
public sealed partial class PartitionRouter
{
    private enum Route
    {
        Key,
        Item,
        Query,
        Scan,
        BatchGet,
        BatchWrite,
        Transaction,
        Catalog,
        Describe,
    }

    private static readonly Dictionary<MethodInfo, Route> Routes = new()
    {
        [Method(GetItem.ExecuteAsync)] = Route.Key,
        [Method(UpdateItem.ExecuteAsync)] = Route.Key,
        [Method(DeleteItem.ExecuteAsync)] = Route.Key,
        [Method(PutItem.ExecuteAsync)] = Route.Item,
        [Method(Query.ExecuteAsync)] = Route.Query,
        [Method(Scan.ExecuteAsync)] = Route.Scan,
        [Method(BatchGetItem.ExecuteAsync)] = Route.BatchGet,
        [Method(BatchWriteItem.ExecuteAsync)] = Route.BatchWrite,
        [Method(TransactWriteItems.ExecuteAsync)] = Route.Transaction,
        [Method(TransactGetItems.ExecuteAsync)] = Route.Transaction,
        [Method(DescribeTable.ExecuteAsync)] = Route.Describe,
        [Method(CreateTable.ExecuteAsync)] = Route.Catalog,
        [Method(DeleteTable.ExecuteAsync)] = Route.Catalog,
        [Method(UpdateTable.ExecuteAsync)] = Route.Catalog,
        [Method(TagResource.ExecuteAsync)] = Route.Catalog,
        [Method(UntagResource.ExecuteAsync)] = Route.Catalog,
        [Method(TimeToLive.UpdateAsync)] = Route.Catalog,
        [Method(Backups.UpdateContinuousBackupsAsync)] = Route.Catalog,
        [Method(ResourcePolicies.PutAsync)] = Route.Catalog,
        [Method(ResourcePolicies.DeleteAsync)] = Route.Catalog,
    };

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 512 };
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    // The DynamoDB operations' targets by handler, for requests forwarded to a partition in another process.
    private static readonly Dictionary<MethodInfo, string> Targets = OperationTable.DynamoDb.OperationNames
        .ToDictionary(name => OperationTable.Find(OperationTable.DynamoDb.TargetPrefix + name)!.Method, name => OperationTable.DynamoDb.TargetPrefix + name);

    // Null where the partition is held by another process and reached through _remote.
    private readonly DynamoEngine?[] _engines;
    private readonly DynamoEngine[] _local;
    private readonly IPartitionTransport? _remote;
    private readonly ConcurrentDictionary<MethodInfo, OperationHandler> _bound = new();

    // A gateway's own engine (it holds no partition): its catalog is the routing cache filled from partition 0.
    private readonly DynamoEngine? _gateway;

    internal PartitionRouter(DynamoEngine?[] engines, IPartitionTransport? remote = null, DynamoEngine? gateway = null)
    {
        _engines = engines;
        _local = [.. engines.OfType<DynamoEngine>()];
        _remote = remote;
        _gateway = gateway;
    }

    /// <summary>The engines of the partitions this process holds, partition 0 (the one the host sees) first.</summary>
    public IReadOnlyList<DynamoEngine> Engines => _local;

    /// <summary>P, fixed when the store was created.</summary>
    public int Count => _engines.Length;

    /// <summary>The engine whose catalog the router reads: partition 0's, or a gateway's routing cache.</summary>
    private DynamoEngine Front => _gateway ?? _engines[0]!;

    private static MethodInfo Method(OperationHandler handler) => handler.Method;

    /// <summary>
    /// The handler to run for <paramref name="handler"/>'s operation: a routing one (made once per operation) for the
    /// operations that touch items or the catalog, the handler itself for those partition 0 answers.
    /// </summary>
    internal OperationHandler Bind(OperationHandler handler)
    {
        var method = handler.Method;
        if (!Routes.TryGetValue(method, out var route)) return _gateway == null || RunsOnGateway.Contains(method) ? handler : Forwarded(handler);
        if (_remote != null)
            return _bound.GetOrAdd(method, static (_, s) => (ctx, req, w) => s.Router.RetriedAsync(s.Route, s.Handler, ctx, req, w), (Router: this, Route: route, Handler: handler));
        return _bound.GetOrAdd(method, static (_, s) => (ctx, req, w) => s.Router.RouteAsync(s.Route, s.Handler, ctx, req, w), (Router: this, Route: route, Handler: handler));
    }

    private ValueTask RouteAsync(Route route, OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w) => route switch
    {
        Route.Key => CallAsync(PartitionOfMember(req, "Key"u8), handler, ctx, req, w),
        Route.Item => CallAsync(PartitionOfMember(req, "Item"u8), handler, ctx, req, w),
        Route.Query => QueryAsync(handler, ctx, req, w),
        Route.Scan => PagesAsync(handler, ctx, req, w, ScanRange(req)),
        Route.BatchGet => BatchAsync(handler, ctx, req, w, write: false),
        Route.BatchWrite => BatchAsync(handler, ctx, req, w, write: true),
        Route.Transaction => CallAsync(PartitionOfTransaction(req), handler, ctx, req, w),
        Route.Catalog => CatalogAsync(handler, ctx, req, w),
        _ => DescribeAsync(handler, ctx, req, w),
    };

    /// <summary>Runs <paramref name="handler"/> on partition <paramref name="k"/>'s engine, with the request's caller and region.</summary>
    private ValueTask CallAsync(int k, OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w, bool keyed = true)
    {
        if (_engines[k] is not { } engine) return RemoteAsync(k, handler, ctx, req, w, keyed);
        if (ReferenceEquals(ctx.Engine, engine)) return handler(ctx, req, w);
        var inner = new OperationContext(engine, ctx.Region, ctx.RequestId)
        {
            Caller = ctx.Caller, Host = ctx.Host, Https = ctx.Https, FromPartiQL = ctx.FromPartiQL,
        };
        return handler(inner, req, w);
    }

    /// <summary>
    /// Forwards the request to partition <paramref name="k"/> in another process: its JSON bytes, with the tables and
    /// partition-key attributes routed by when <paramref name="keyed"/>; the answer's bytes are written as they are, an
    /// error is raised again as it was. A stale route refreshes those tables and raises <see cref="StaleRouteException"/>.
    /// </summary>
    private async ValueTask RemoteAsync(int k, OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w, bool keyed)
    {
        var target = Targets.TryGetValue(handler.Method, out var known) ? known : ctx.Target ?? throw new InvalidOperationException("A forwarded request needs its target.");
        var request = keyed ? KeyedRequest(target, ctx.Region, req) : new PartitionRequest(target, ctx.Region, System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(req).ToArray());
        var answer = await _remote!.CallAsync(k, request, CancellationToken.None).ConfigureAwait(false);
        switch (answer.Status)
        {
            case PartitionCallStatus.Ok:
                w.WriteRawValue(answer.Body, skipInputValidation: true);
                return;
            case PartitionCallStatus.Error:
                throw DynamoErrors.Rebuilt(answer);
            default:
                await RefreshAsync(ctx.Region, request).ConfigureAwait(false);
                throw new StaleRouteException($"Partition {k} answered a stale route for table '{request.TableName}'.");
        }
    }

    /// <summary>Runs the request on partition <paramref name="k"/> and parses its answer (for the answers that are merged).</summary>
    private async Task<JsonDocument> CallForDocumentAsync(int k, OperationHandler handler, OperationContext ctx, JsonElement req, bool keyed = true)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        await using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            await CallAsync(k, handler, ctx, req, w, keyed).ConfigureAwait(false);
        }

        return JsonDocument.Parse(buffer.WrittenMemory, DocumentOptions);
    }

    /// <summary>Catalog changes go to every partition, partition 0 first: if it refuses, nothing else is touched.</summary>
    private async ValueTask CatalogAsync(OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        try
        {
            await CallAsync(0, handler, ctx, req, w, keyed: false).ConfigureAwait(false);
            for (var k = 1; k < _engines.Length; k++)
            {
                using var _ = await CallForDocumentAsync(k, handler, ctx, req, keyed: false).ConfigureAwait(false);
            }
        }
        finally
        {
            // A gateway learns the change (or that the table is not what it thought) from partition 0 at once.
            if (_gateway != null && CatalogNameOf(req) is { } name) await RefreshAsync(ctx.Region, name).ConfigureAwait(false);
        }
    }

    /// <summary>DescribeTable: partition 0's description, with the item counts and sizes of every partition summed.</summary>
    private async ValueTask DescribeAsync(OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var pages = new List<JsonDocument>(_engines.Length);
        try
        {
            for (var k = 0; k < _engines.Length; k++) pages.Add(await CallForDocumentAsync(k, handler, ctx, req, keyed: false).ConfigureAwait(false));
            var others = new List<JsonElement>(pages.Count - 1);
            for (var k = 1; k < pages.Count; k++) others.Add(pages[k].RootElement);
            WriteSummed(w, pages[0].RootElement, others);
        }
        finally
        {
            foreach (var page in pages) page.Dispose();
        }
    }

    /// <summary>
    /// Writes <paramref name="primary"/> with its ItemCount, TableSizeBytes and IndexSizeBytes members replaced by
    /// their sums over the same places in <paramref name="others"/> (the partitions share one catalog, so their
    /// descriptions have the same shape: objects by member name, index lists in the same order).
    /// </summary>
    private static void WriteSummed(Utf8JsonWriter w, JsonElement primary, List<JsonElement> others)
    {
        switch (primary.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                foreach (var member in primary.EnumerateObject())
                {
                    var inOthers = new List<JsonElement>(others.Count);
                    foreach (var o in others)
                        if (o.ValueKind == JsonValueKind.Object && o.TryGetProperty(member.Name, out var v)) inOthers.Add(v);
                    if (member.Value.ValueKind == JsonValueKind.Number && member.Name is "ItemCount" or "TableSizeBytes" or "IndexSizeBytes")
                    {
                        var sum = member.Value.GetInt64();
                        foreach (var v in inOthers) sum += v.GetInt64();
                        w.WriteNumber(member.Name, sum);
                        continue;
                    }

                    w.WritePropertyName(member.Name);
                    WriteSummed(w, member.Value, inOthers);
                }

                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                var i = 0;
                foreach (var element in primary.EnumerateArray())
                {
                    var inOthers = new List<JsonElement>(others.Count);
                    foreach (var o in others)
                        if (o.ValueKind == JsonValueKind.Array && o.GetArrayLength() > i) inOthers.Add(o[i]);
                    WriteSummed(w, element, inOthers);
                    i++;
                }

                w.WriteEndArray();
                break;
            default:
                primary.WriteTo(w);
                break;
        }
    }

    /// <summary>The table definition the request names (from partition 0's catalog, which every partition shares); null: route to 0.</summary>
    private TableDefinition? DefinitionOf(JsonElement req) =>
        req.TryGetProperty("TableName"u8, out var name) && name.ValueKind == JsonValueKind.String && name.GetString() is { } text
            ? FindDefinition(text)
            : null;

    /// <summary>
    /// The table a TableName (or a batch's table key) names, by name or by the name inside a table ARN; the operation
    /// itself still checks the ARN's account and region, on whichever partition it runs.
    /// </summary>
    private TableDefinition? FindDefinition(string name) => Front.Database.FindTable(PlainName(name))?.Definition;

    private int PartitionOfMember(JsonElement req, ReadOnlySpan<byte> member) =>
        DefinitionOf(req) is { } definition && req.TryGetProperty(member, out var map) ? PartitionOfAttribute(map, definition.HashKey.Name) : 0;

    /// <summary>The partition of the value of <paramref name="attribute"/> in a key or item map; 0 when it has none usable.</summary>
    private int PartitionOfAttribute(JsonElement map, string attribute)
    {
        if (map.ValueKind != JsonValueKind.Object || !map.TryGetProperty(attribute, out var json)) return 0;
        return AttrJson.TryReadValue(json, out var value, out _) ? PartitionOfValue(value) : 0;
    }

    private int PartitionOfValue(AttrValue value) =>
        value.Type is AttrType.S or AttrType.N or AttrType.B ? PartitionMap.PartitionOf(KeyCodec.PartitionHash(value), _engines.Length) : 0;

    /// <summary>
    /// A transaction runs on one partition when all its items hash to it; one spanning partitions runs on partition 0,
    /// whose coordinator commits it in two phases (Transactions/, docs/scale-out.md), or is refused without one.
    /// </summary>
    private int PartitionOfTransaction(JsonElement req)
    {
        if (!req.TryGetProperty("TransactItems"u8, out var items) || items.ValueKind != JsonValueKind.Array) return 0;
        var partition = -1;
        foreach (var entry in items.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object) return 0;
            foreach (var action in entry.EnumerateObject())
            {
                if (action.Value.ValueKind != JsonValueKind.Object || DefinitionOf(action.Value) is not { } definition) return 0;
                var k = action.Value.TryGetProperty("Key"u8, out var key) ? PartitionOfAttribute(key, definition.HashKey.Name)
                    : action.Value.TryGetProperty("Item"u8, out var item) ? PartitionOfAttribute(item, definition.HashKey.Name) : 0;
                if (partition >= 0 && k != partition) return Front.Database.Coordinator != null ? 0 : throw DynamoErrors.CrossPartitionTransaction();
                partition = k;
            }
        }

        return Math.Max(partition, 0);
    }

    /// <summary>Query on the table or a local index: the key condition's partition; on a global index: every partition in turn.</summary>
    private ValueTask QueryAsync(OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        if (DefinitionOf(req) is not { } definition) return CallAsync(0, handler, ctx, req, w);
        if (req.TryGetProperty("IndexName"u8, out var indexName) && indexName.ValueKind == JsonValueKind.String)
        {
            var index = definition.FindIndex(indexName.GetString()!);
            if (index == null) return CallAsync(0, handler, ctx, req, w);
            if (index.Global) return PagesAsync(handler, ctx, req, w, (0, _engines.Length - 1));
        }

        return CallAsync(PartitionOfKeyCondition(req, definition.HashKey.Name), handler, ctx, req, w);
    }

    /// <summary>The partition of the equality on the partition key in KeyConditionExpression (or legacy KeyConditions).</summary>
    private int PartitionOfKeyCondition(JsonElement req, string hashKey)
    {
        if (req.TryGetProperty("KeyConditionExpression"u8, out var text) && text.ValueKind == JsonValueKind.String)
        {
            try
            {
                var conditions = ExpressionParser.ParseKeyCondition(text.GetString()!, ItemRequest.ReadExpressionAttributes(req));
                foreach (var c in conditions)
                {
                    if (c.AttributeName == hashKey && c.Operator == KeyConditionOperator.EQ && c.Values.Count == 1) return PartitionOfValue(c.Values[0]);
                }
            }
            catch (DynamoException)
            {
                // Partition 0's Query refuses it with the right error.
            }

            return 0;
        }

        if (req.TryGetProperty("KeyConditions"u8, out var legacy) && legacy.ValueKind == JsonValueKind.Object
            && legacy.TryGetProperty(hashKey, out var condition) && condition.ValueKind == JsonValueKind.Object
            && condition.TryGetProperty("AttributeValueList"u8, out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() == 1
            && AttrJson.TryReadValue(values[0], out var value, out _))
            return PartitionOfValue(value);
        return 0;
    }

    /// <summary>The partitions a Scan covers: all of them, or those its segment's hash range overlaps (table and local indexes).</summary>
    private (int First, int Last) ScanRange(JsonElement req)
    {
        var all = (0, _engines.Length - 1);
        if (!req.TryGetProperty("Segment"u8, out var segment) || !req.TryGetProperty("TotalSegments"u8, out var total)
            || !segment.TryGetInt64(out var s) || !total.TryGetInt64(out var n) || n is < 1 or > 1_000_000 || s < 0 || s >= n) return all;

        // A global index's entries live with their base items, so every partition holds part of each segment.
        if (req.TryGetProperty("IndexName"u8, out var indexName) && indexName.ValueKind == JsonValueKind.String
            && DefinitionOf(req)?.FindIndex(indexName.GetString()!) is { Global: true }) return all;
        return PartitionMap.PartitionsOfSegment(s, n, _engines.Length);
    }
}
