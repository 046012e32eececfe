using System.Collections.Frozen;
using System.Text.Json;

namespace Serverless.Engine.Operations;

/// <summary>Executes one operation: reads the parsed request, writes the response object.</summary>
public delegate ValueTask OperationHandler(OperationContext context, JsonElement request, Utf8JsonWriter response);

/// <summary>The one dispatch table from <c>X-Amz-Target</c> to an operation handler.</summary>
public static class OperationTable
{
    private const string DynamoPrefix = "DynamoDB_20120810.";

    private static readonly FrozenDictionary<string, OperationHandler> Handlers = new Dictionary<string, OperationHandler>(StringComparer.Ordinal)
    {
        ["CreateTable"] = CreateTable.ExecuteAsync,
        ["DescribeTable"] = DescribeTable.ExecuteAsync,
        ["DeleteTable"] = DeleteTable.ExecuteAsync,
        ["UpdateTable"] = UpdateTable.ExecuteAsync,
        ["ListTables"] = ListTables.ExecuteAsync,
        ["TagResource"] = TagResource.ExecuteAsync,
        ["UntagResource"] = UntagResource.ExecuteAsync,
        ["ListTagsOfResource"] = ListTagsOfResource.ExecuteAsync,
        ["DescribeLimits"] = DescribeLimits.ExecuteAsync,
        ["DescribeEndpoints"] = DescribeEndpoints.ExecuteAsync,
        ["PutItem"] = PutItem.ExecuteAsync,
        ["GetItem"] = GetItem.ExecuteAsync,
        ["UpdateItem"] = UpdateItem.ExecuteAsync,
        ["DeleteItem"] = DeleteItem.ExecuteAsync,
        ["BatchGetItem"] = BatchGetItem.ExecuteAsync,
        ["BatchWriteItem"] = BatchWriteItem.ExecuteAsync,
        ["TransactWriteItems"] = TransactWriteItems.ExecuteAsync,
        ["TransactGetItems"] = TransactGetItems.ExecuteAsync,
        ["Query"] = Query.ExecuteAsync,
        ["Scan"] = Scan.ExecuteAsync,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The operation names this build serves, for docs and tests.</summary>
    public static IEnumerable<string> OperationNames => Handlers.Keys;

    public static OperationHandler? Find(string? target)
    {
        if (target is null || !target.StartsWith(DynamoPrefix, StringComparison.Ordinal)) return null;
        var lookup = Handlers.GetAlternateLookup<ReadOnlySpan<char>>();
        return lookup.TryGetValue(target.AsSpan(DynamoPrefix.Length), out var h) ? h : null;
    }
}
