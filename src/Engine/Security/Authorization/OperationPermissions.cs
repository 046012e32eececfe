using System.Collections.Frozen;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.PartiQL;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Security.Authorization;

/// <summary>
/// One action on one resource that a request needs, with the table whose resource policy governs it (tables,
/// their indexes and streams; none for backups and <c>*</c>) and the part of the request its condition keys come
/// from. The keys are read only when a policy's condition asks for them.
/// </summary>
public sealed class AccessCheck
{
    private readonly FactsMode _mode;
    private readonly JsonElement _part;
    private readonly JsonElement _request;
    private readonly IndexDefinition? _index;
    private RequestFacts? _facts;

    public AccessCheck(string action, string resource, TableState? table, string? streamLabel)
    {
        Action = action;
        Resource = resource;
        Table = table;
        StreamLabel = streamLabel;
        _facts = RequestFacts.Empty;
    }

    /// <summary>A check whose condition keys are read from <paramref name="part"/> of <paramref name="request"/> (both must outlive the check).</summary>
    public AccessCheck(string action, string resource, TableState? table, FactsMode mode, JsonElement part, JsonElement request, IndexDefinition? index)
        : this(action, resource, table, null)
    {
        _mode = mode;
        _part = part;
        _request = request;
        _index = index;
        _facts = null;
    }

    public string Action { get; }

    /// <summary>The resource ARN, or <c>*</c> for account-level actions.</summary>
    public string Resource { get; }

    public TableState? Table { get; }

    /// <summary>Set when <see cref="Resource"/> is a stream: its policy is the stream's, not the table's.</summary>
    public string? StreamLabel { get; }

    public RequestFacts Facts => _facts ??= RequestFacts.Build(_mode, _part, _request, Table?.Definition, _index);
}

/// <summary>
/// The one table from each operation to the IAM actions and resources it needs, per AWS's Service Authorization
/// Reference for DynamoDB and the DynamoDB developer guide. Requests are read without throwing: a part that cannot
/// be read names no resource and is left to the operation, which then fails validation (AWS validates the request
/// shape before it can name a resource to authorize).
/// </summary>
public static class OperationPermissions
{
    private const string DynamoPrefix = "DynamoDB_20120810.";
    private const string StreamsPrefix = "DynamoDBStreams_20120810.";

    private delegate void Builder(Scope scope, JsonElement request, List<AccessCheck> checks);

    /// <summary>The actions a restore needs on the table it creates, as the developer guide lists them.</summary>
    private static readonly string[] RestoreTargetActions =
        ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchWriteItem"];

    private static readonly FrozenDictionary<string, Builder> Dynamo = new Dictionary<string, Builder>(StringComparer.Ordinal)
    {
        ["CreateTable"] = static (s, r, c) =>
        {
            s.OnTable(r, "dynamodb:CreateTable", c);
            if (RequestFacts.Str(r, "ResourcePolicy") != null) s.OnTable(r, "dynamodb:PutResourcePolicy", c);
        },
        ["DescribeTable"] = static (s, r, c) => s.OnTable(r, "dynamodb:DescribeTable", c),
        ["DeleteTable"] = static (s, r, c) => s.OnTable(r, "dynamodb:DeleteTable", c),
        ["UpdateTable"] = static (s, r, c) => s.OnTable(r, "dynamodb:UpdateTable", c),
        ["ListTables"] = static (s, r, c) => s.OnAccount("dynamodb:ListTables", c),
        ["TagResource"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "ResourceArn"), "dynamodb:TagResource", c),
        ["UntagResource"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "ResourceArn"), "dynamodb:UntagResource", c),
        ["ListTagsOfResource"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "ResourceArn"), "dynamodb:ListTagsOfResource", c),
        ["DescribeLimits"] = static (s, r, c) => s.OnAccount("dynamodb:DescribeLimits", c),
        ["DescribeEndpoints"] = static (s, r, c) => s.OnAccount("dynamodb:DescribeEndpoints", c),
        ["PutItem"] = static (s, r, c) => s.Item(r, r, "dynamodb:PutItem", FactsMode.Write, c),
        ["GetItem"] = static (s, r, c) => s.Item(r, r, "dynamodb:GetItem", FactsMode.Read, c),
        ["UpdateItem"] = static (s, r, c) => s.Item(r, r, "dynamodb:UpdateItem", FactsMode.Write, c),
        ["DeleteItem"] = static (s, r, c) => s.Item(r, r, "dynamodb:DeleteItem", FactsMode.Write, c),
        ["Query"] = static (s, r, c) => s.Item(r, r, "dynamodb:Query", FactsMode.Read, c, withIndex: true),
        ["Scan"] = static (s, r, c) => s.Item(r, r, "dynamodb:Scan", FactsMode.Read, c, withIndex: true),
        ["BatchGetItem"] = static (s, r, c) => s.PerTable(r, "dynamodb:BatchGetItem", FactsMode.Read, c),
        ["BatchWriteItem"] = static (s, r, c) => s.PerTable(r, "dynamodb:BatchWriteItem", FactsMode.BatchWrite, c),
        ["TransactWriteItems"] = static (s, r, c) => s.Transaction(r, c, ("Put", "dynamodb:PutItem"), ("Update", "dynamodb:UpdateItem"),
            ("Delete", "dynamodb:DeleteItem"), ("ConditionCheck", "dynamodb:ConditionCheckItem")),
        ["TransactGetItems"] = static (s, r, c) => s.Transaction(r, c, ("Get", "dynamodb:GetItem")),
        ["ExecuteStatement"] = static (s, r, c) => s.PartiQL("ExecuteStatement", r, c),
        ["BatchExecuteStatement"] = static (s, r, c) => s.PartiQL("BatchExecuteStatement", r, c),
        ["ExecuteTransaction"] = static (s, r, c) => s.PartiQL("ExecuteTransaction", r, c),
        ["UpdateTimeToLive"] = static (s, r, c) => s.OnTable(r, "dynamodb:UpdateTimeToLive", c),
        ["DescribeTimeToLive"] = static (s, r, c) => s.OnTable(r, "dynamodb:DescribeTimeToLive", c),
        ["EnableKinesisStreamingDestination"] = static (s, r, c) => s.OnTable(r, "dynamodb:EnableKinesisStreamingDestination", c),
        ["DisableKinesisStreamingDestination"] = static (s, r, c) => s.OnTable(r, "dynamodb:DisableKinesisStreamingDestination", c),
        ["DescribeKinesisStreamingDestination"] = static (s, r, c) => s.OnTable(r, "dynamodb:DescribeKinesisStreamingDestination", c),
        ["UpdateKinesisStreamingDestination"] = static (s, r, c) => s.OnTable(r, "dynamodb:UpdateKinesisStreamingDestination", c),
        ["UpdateContinuousBackups"] = static (s, r, c) => s.OnTable(r, "dynamodb:UpdateContinuousBackups", c),
        ["DescribeContinuousBackups"] = static (s, r, c) => s.OnTable(r, "dynamodb:DescribeContinuousBackups", c),
        ["RestoreTableToPointInTime"] = static (s, r, c) =>
        {
            var source = RequestFacts.Str(r, "SourceTableArn") ?? (RequestFacts.Str(r, "SourceTableName") is { } n ? s.TableArn(n) : null);
            s.OnArn(source, "dynamodb:RestoreTableToPointInTime", c);
            s.OnTarget(RequestFacts.Str(r, "TargetTableName"), c);
        },
        ["CreateBackup"] = static (s, r, c) => s.OnTable(r, "dynamodb:CreateBackup", c),
        ["DescribeBackup"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "BackupArn"), "dynamodb:DescribeBackup", c),
        ["ListBackups"] = static (s, r, c) => s.OnAccount("dynamodb:ListBackups", c),
        ["DeleteBackup"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "BackupArn"), "dynamodb:DeleteBackup", c),
        ["RestoreTableFromBackup"] = static (s, r, c) =>
        {
            s.OnArn(RequestFacts.Str(r, "BackupArn"), "dynamodb:RestoreTableFromBackup", c);
            s.OnTarget(RequestFacts.Str(r, "TargetTableName"), c);
        },
        ["PutResourcePolicy"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "ResourceArn"), "dynamodb:PutResourcePolicy", c),
        ["GetResourcePolicy"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "ResourceArn"), "dynamodb:GetResourcePolicy", c),
        ["DeleteResourcePolicy"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "ResourceArn"), "dynamodb:DeleteResourcePolicy", c),
        ["ExportTableToPointInTime"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "TableArn"), "dynamodb:ExportTableToPointInTime", c),
        ["DescribeExport"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "ExportArn"), "dynamodb:DescribeExport", c),
        ["ListExports"] = static (s, r, c) => s.OnAccount("dynamodb:ListExports", c),
        ["ImportTable"] = static (s, r, c) =>
            s.OnArn(r.ValueKind == JsonValueKind.Object && r.TryGetProperty("TableCreationParameters", out var p) && RequestFacts.Str(p, "TableName") is { } name
                ? s.TableArn(name) : null, "dynamodb:ImportTable", c),
        ["DescribeImport"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "ImportArn"), "dynamodb:DescribeImport", c),
        ["ListImports"] = static (s, r, c) => s.OnAccount("dynamodb:ListImports", c),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, Builder> StreamsApi = new Dictionary<string, Builder>(StringComparer.Ordinal)
    {
        ["ListStreams"] = static (s, r, c) => s.OnAccount("dynamodb:ListStreams", c),
        ["DescribeStream"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "StreamArn"), "dynamodb:DescribeStream", c),
        ["GetShardIterator"] = static (s, r, c) => s.OnArn(RequestFacts.Str(r, "StreamArn"), "dynamodb:GetShardIterator", c),
        ["GetRecords"] = static (s, r, c) =>
            s.OnArn(RequestFacts.Str(r, "ShardIterator") is { } text ? ShardIterator.Decode(text)?.StreamArn : null, "dynamodb:GetRecords", c),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="operation"/> (without its target prefix) has an entry; every served operation must.</summary>
    public static bool IsMapped(string operation) => Dynamo.ContainsKey(operation) || StreamsApi.ContainsKey(operation);

    /// <summary>Everything <paramref name="target"/> needs for <paramref name="request"/>, in request order.</summary>
    public static List<AccessCheck> For(OperationContext context, string target, JsonElement request)
    {
        var checks = new List<AccessCheck>(1);
        For(context, target, request, checks);
        return checks;
    }

    /// <summary>As above, into <paramref name="checks"/> (the authorizer reuses one list per thread).</summary>
    internal static void For(OperationContext context, string target, JsonElement request, List<AccessCheck> checks)
    {
        var scope = new Scope(context);
        Builder? builder;
        ReadOnlySpan<char> operation;
        if (target.StartsWith(StreamsPrefix, StringComparison.Ordinal))
        {
            operation = target.AsSpan(StreamsPrefix.Length);
            StreamsApi.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(operation, out builder);
        }
        else if (target.StartsWith(DynamoPrefix, StringComparison.Ordinal))
        {
            operation = target.AsSpan(DynamoPrefix.Length);
            Dynamo.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(operation, out builder);
        }
        else
        {
            // The other APIs served here (Kinesis, DAX, Application Auto Scaling): their own action on every resource.
            var service = OperationTable.ServiceFor(target);
            var name = service is null ? target : target[service.TargetPrefix.Length..];
            scope.OnAccount((service?.SigningName ?? "dynamodb") + ":" + name, checks);
            return;
        }

        // An operation without an entry still needs its own action on every resource: nothing is open by omission.
        if (builder == null) scope.OnAccount("dynamodb:" + operation.ToString(), checks);
        else builder(scope, request, checks);
    }

    private readonly struct Scope(OperationContext context)
    {
        private Database Db => context.Engine.Database;

        public string TableArn(string name) =>
            Db.FindTable(name)?.Definition.Arn ?? $"arn:aws:dynamodb:{context.Region}:{context.Engine.Options.AccountId}:table/{name}";

        public void OnAccount(string action, List<AccessCheck> checks) => checks.Add(new AccessCheck(action, "*", null, null));

        public void OnTable(JsonElement request, string action, List<AccessCheck> checks)
        {
            if (RequestFacts.TableName(request) is not { } name) return;
            var table = Db.FindTable(name);
            checks.Add(new AccessCheck(action, table?.Definition.Arn ?? TableArn(name), table, null));
        }

        /// <summary>The actions a restore needs on its target table.</summary>
        public void OnTarget(string? name, List<AccessCheck> checks)
        {
            if (name == null) return;
            var arn = TableArn(name);
            foreach (var action in RestoreTargetActions) checks.Add(new AccessCheck(action, arn, Db.FindTable(name), null));
        }

        /// <summary>An action on a resource named by ARN: a table, one of its indexes or streams, or a backup.</summary>
        public void OnArn(string? arn, string action, List<AccessCheck> checks)
        {
            if (arn == null) return;
            var (table, label) = Owner(arn);
            checks.Add(new AccessCheck(action, arn, table, label));
        }

        /// <summary>The table whose resource policy covers <paramref name="arn"/>, and the stream label when it names a stream.</summary>
        private (TableState? Table, string? StreamLabel) Owner(string arn)
        {
            var marker = arn.IndexOf(":table/", StringComparison.Ordinal);
            if (marker < 0) return (null, null);
            var rest = arn.AsSpan(marker + 7);
            var slash = rest.IndexOf('/');
            var name = slash < 0 ? rest.ToString() : rest[..slash].ToString();
            if (Db.FindTable(name) is not { } table || !arn.AsSpan(0, marker + 7 + name.Length).SequenceEqual(table.Definition.Arn)) return (null, null);
            if (slash < 0) return (table, null);
            var sub = rest[(slash + 1)..];
            if (sub.StartsWith("stream/")) return (table, sub["stream/".Length..].ToString());
            if (sub.StartsWith("index/")) return (table, null);
            return (null, null);
        }

        /// <summary>An item action on the request's table (or, for Query and Scan with IndexName, on the index ARN).</summary>
        public void Item(JsonElement part, JsonElement request, string action, FactsMode mode, List<AccessCheck> checks, bool withIndex = false)
        {
            // Req.TableName reuses the name string of the last request on this thread (item requests repeat a few names).
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("TableName"u8, out var t) || t.ValueKind != JsonValueKind.String) return;
            var name = Req.TableName(part)!;
            var table = Db.FindTable(name);
            var arn = table?.Definition.Arn ?? TableArn(name);
            IndexDefinition? index = null;
            if (withIndex && RequestFacts.Str(part, "IndexName") is { } indexName)
            {
                arn = arn + "/index/" + indexName;
                index = table?.Definition.FindIndex(indexName);
            }

            checks.Add(new AccessCheck(action, arn, table, mode, part, request, index));
        }

        /// <summary>BatchGetItem and BatchWriteItem: the batch action once per table of RequestItems, with that table's items.</summary>
        public void PerTable(JsonElement request, string action, FactsMode mode, List<AccessCheck> checks)
        {
            if (RequestFacts.Obj(request, "RequestItems") is not { } items) return;
            foreach (var entry in items.EnumerateObject())
            {
                var table = Db.FindTable(entry.Name);
                checks.Add(new AccessCheck(action, table?.Definition.Arn ?? TableArn(entry.Name), table, mode, entry.Value, request, null));
            }
        }

        /// <summary>PartiQL: each statement's PartiQL action on its table, or on the index a SELECT reads.</summary>
        public void PartiQL(string operation, JsonElement request, List<AccessCheck> checks)
        {
            foreach (var p in PartiQLPermissions.ForRequest(operation, request))
            {
                var table = Db.FindTable(p.TableName);
                var arn = table?.Definition.Arn ?? TableArn(p.TableName);
                checks.Add(new AccessCheck(p.Action, p.IndexName == null ? arn : arn + "/index/" + p.IndexName, table, null));
            }
        }

        /// <summary>Transactions: each item's own action on its own table.</summary>
        public void Transaction(JsonElement request, List<AccessCheck> checks, params (string Member, string Action)[] kinds)
        {
            if (!request.TryGetProperty("TransactItems", out var items) || items.ValueKind != JsonValueKind.Array) return;
            foreach (var item in items.EnumerateArray())
            {
                foreach (var (member, action) in kinds)
                {
                    if (RequestFacts.Obj(item, member) is not { } part) continue;
                    Item(part, request, action, member is "Get" ? FactsMode.Read : FactsMode.Write, checks);
                }
            }
        }
    }
}
