using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Partitioning;

/// <summary>
/// The gateway (docs/scale-out.md, "Gateway"): a host that holds no partition routes with a catalog cached from
/// partition 0's grain. The cache is the gateway engine's own catalog, so authorization (resource policies, ARNs) reads
/// it as on one host. A table is fetched when a request names one the cache lacks (or an index it does not know),
/// or one fetched more than <see cref="CacheAge"/> ago, after every catalog change sent through this gateway, and when a partition answers <see cref="PartitionCallStatus.StaleRoute"/>,
/// after which the request is routed again, once. PartiQL runs on the gateway over a catalog fetched whole first;
/// every other operation the router does not route is forwarded to partition 0 as it is.
/// </summary>
public sealed partial class PartitionRouter
{
    // PartiQL compiles statements into item operations, which the router then routes: it runs where the request arrived.
    private static readonly HashSet<MethodInfo> RunsOnGateway =
    [
        Method(ExecuteStatement.ExecuteAsync), Method(BatchExecuteStatement.ExecuteAsync), Method(ExecuteTransaction.ExecuteAsync),
    ];

    /// <summary>
    /// How long a gateway trusts a table's cached definition: a change made through another host (a resource policy that
    /// denies, a new index, a dropped table) is seen here within it. One call to partition 0 per table and period.
    /// </summary>
    public static readonly TimeSpan CacheAge = TimeSpan.FromSeconds(5);

    /// <summary>When each cached table was fetched (the gateway engine's injected clock).</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _fetchedAt = new(StringComparer.Ordinal);

    /// <summary>Whether this router is a gateway's (it holds no partition; its catalog is a cache of partition 0's).</summary>
    public bool IsGateway => _gateway != null;

    /// <summary>An operation partition 0 answers, forwarded there as it is (made once per operation).</summary>
    private OperationHandler Forwarded(OperationHandler handler) =>
        _bound.GetOrAdd(handler.Method, static (_, s) => (ctx, req, w) => s.Router.RemoteAsync(0, s.Handler, ctx, req, w, keyed: false), (Router: this, Handler: handler));

    /// <summary>Routes; when a partition answers that the route is stale (the catalog was refreshed meanwhile), routes again, once.</summary>
    private async ValueTask RetriedAsync(Route route, OperationHandler handler, OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        try
        {
            await RouteAsync(route, handler, ctx, req, w).ConfigureAwait(false);
        }
        catch (StaleRouteException)
        {
            await RouteAsync(route, handler, ctx, req, w).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Before authorization and routing (the request handler's one call): on a gateway, makes sure the cache holds every
    /// table the request names (and the index it names), fetching the missing ones from partition 0; for PartiQL the
    /// whole catalog. Completes at once elsewhere, and on a gateway when nothing is missing.
    /// </summary>
    internal ValueTask PrepareAsync(OperationHandler handler, OperationContext ctx, JsonElement req)
    {
        if (_gateway == null) return ValueTask.CompletedTask;
        if (RunsOnGateway.Contains(handler.Method)) return RefreshAsync(ctx.Region, (string?)null);
        var others = OtherTableNames(req);
        if (others == null)
        {
            if (CatalogNameOf(req) is not { } name || Knows(name, req)) return ValueTask.CompletedTask;
            return RefreshAsync(ctx.Region, name);
        }

        if (CatalogNameOf(req) is { } named) others.Add(named);
        return RefreshMissingAsync(ctx.Region, others);
    }

    private async ValueTask RefreshMissingAsync(string region, List<string> names)
    {
        foreach (var name in names)
            if (Front.Database.FindTable(name) == null || !Fresh(name)) await RefreshAsync(region, name).ConfigureAwait(false);
    }

    private bool Fresh(string name) => _fetchedAt.TryGetValue(name, out var at) && Front.Time.GetUtcNow() - at < CacheAge;

    private bool Knows(string name, JsonElement req)
    {
        if (!Fresh(name) || Front.Database.FindTable(name)?.Definition is not { } definition) return false;
        return !req.TryGetProperty("IndexName"u8, out var index) || index.ValueKind != JsonValueKind.String || definition.FindIndex(index.GetString()!) != null;
    }

    /// <summary>The tables a forwarded request was routed by, with their partition-key attributes (the partition checks them).</summary>
    private PartitionRequest KeyedRequest(string target, string region, JsonElement req)
    {
        var body = JsonMarshal.GetRawUtf8Value(req).ToArray();
        var first = DefinitionOf(req);
        if (OtherTableNames(req) is not { } others) return new PartitionRequest(target, region, body, first?.Name, first?.HashKey.Name);
        var routes = new List<string>();
        foreach (var name in others)
        {
            if (FindDefinition(name) is not { } definition || definition.Name == first?.Name) continue;
            if (first == null)
            {
                first = definition;
                continue;
            }

            routes.Add(definition.Name);
            routes.Add(definition.HashKey.Name);
        }

        return new PartitionRequest(target, region, body, first?.Name, first?.HashKey.Name, routes.Count > 0 ? [.. routes] : null);
    }

    /// <summary>After a stale route: fetches again every table the request was routed by.</summary>
    private async ValueTask RefreshAsync(string region, PartitionRequest routed)
    {
        if (routed.TableName is { } table) await RefreshAsync(region, table).ConfigureAwait(false);
        if (routed.MoreRoutes is not { } more) return;
        for (var i = 0; i < more.Length; i += 2) await RefreshAsync(region, more[i]).ConfigureAwait(false);
    }

    /// <summary>
    /// Fetches table <paramref name="name"/>'s definition (every table's when null) from partition 0 into the gateway's
    /// catalog: a table partition 0 does not have (or has under another number: dropped and created again) is dropped
    /// from the cache, the others replace their cached definitions. Does nothing on a router that is not a gateway.
    /// </summary>
    private async ValueTask RefreshAsync(string region, string? name)
    {
        if (_gateway == null) return;
        var asked = Front.Time.GetUtcNow();
        var answer = await _remote!.CallAsync(0, new PartitionRequest(PartitionCall.CatalogTarget, region, [], name), CancellationToken.None).ConfigureAwait(false);
        if (answer.Status != PartitionCallStatus.Ok) throw DynamoErrors.Rebuilt(answer);
        using var document = JsonDocument.Parse(answer.Body);
        var fresh = new Dictionary<string, (uint Number, JsonElement Json)>(StringComparer.Ordinal);
        foreach (var definition in document.RootElement.EnumerateArray())
            fresh[definition.GetProperty("Name"u8).GetString()!] = (definition.GetProperty("TableNumber"u8).GetUInt32(), definition);
        var catalog = _gateway.Database.Catalog;
        foreach (var table in catalog.All)
        {
            if (name != null && table.Definition.Name != name) continue;
            if (!fresh.TryGetValue(table.Definition.Name, out var now) || now.Number != table.Number) catalog.Replay(table.Number, []);
        }

        foreach (var (number, json) in fresh.Values) catalog.Replay(number, JsonMarshal.GetRawUtf8Value(json));
        foreach (var table in fresh.Keys) _fetchedAt[table] = asked;
    }

    /// <summary>The table a request names by TableName, or by the ResourceArn of a table (tags, resource policies); plain name.</summary>
    private static string? CatalogNameOf(JsonElement req)
    {
        string? text = null;
        if (req.TryGetProperty("TableName"u8, out var name) && name.ValueKind == JsonValueKind.String) text = name.GetString();
        else if (req.TryGetProperty("ResourceArn"u8, out var arn) && arn.ValueKind == JsonValueKind.String) text = arn.GetString();
        return text == null ? null : PlainName(text);
    }

    /// <summary>A table's name, also from a table ARN (or an index's or stream's ARN under it).</summary>
    private static string PlainName(string name)
    {
        if (!TableArns.IsArn(name) || name.IndexOf(":table/", StringComparison.Ordinal) is not (var at and > 0)) return name;
        var rest = name[(at + ":table/".Length)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? rest : rest[..slash];
    }

    /// <summary>The tables a batch (RequestItems) or a transaction (TransactItems) names; null for a request with neither.</summary>
    private static List<string>? OtherTableNames(JsonElement req)
    {
        List<string>? names = null;
        if (req.TryGetProperty("RequestItems"u8, out var tables) && tables.ValueKind == JsonValueKind.Object)
        {
            names = [];
            foreach (var table in tables.EnumerateObject()) names.Add(PlainName(table.Name));
        }

        if (req.TryGetProperty("TransactItems"u8, out var items) && items.ValueKind == JsonValueKind.Array)
        {
            names ??= [];
            foreach (var entry in items.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object) continue;
                foreach (var action in entry.EnumerateObject())
                {
                    if (action.Value.ValueKind == JsonValueKind.Object && action.Value.TryGetProperty("TableName"u8, out var name)
                        && name.ValueKind == JsonValueKind.String && !names.Contains(PlainName(name.GetString()!)))
                        names.Add(PlainName(name.GetString()!));
                }
            }
        }

        return names;
    }

    /// <summary>A partition's table has another partition key than the one the request was routed by.</summary>
    private sealed class StaleRouteException(string message) : InvalidOperationException(message);
}
