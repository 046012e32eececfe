using System.Collections.Frozen;
using System.Text.Json;

namespace Serverless.Engine.Operations;

/// <summary>Executes one operation: reads the parsed request, writes the response object.</summary>
public delegate ValueTask OperationHandler(OperationContext context, JsonElement request, Utf8JsonWriter response);

/// <summary>The one dispatch table from <c>X-Amz-Target</c> to an operation handler.</summary>
public static class OperationTable
{
    private const string DynamoPrefix = "DynamoDB_20120810.";
    private const string StreamsPrefix = "DynamoDBStreams_20120810.";

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
        ["ExecuteStatement"] = ExecuteStatement.ExecuteAsync,
        ["BatchExecuteStatement"] = BatchExecuteStatement.ExecuteAsync,
        ["ExecuteTransaction"] = ExecuteTransaction.ExecuteAsync,
        ["Query"] = Query.ExecuteAsync,
        ["Scan"] = Scan.ExecuteAsync,
        ["UpdateTimeToLive"] = TimeToLive.UpdateAsync,
        ["DescribeTimeToLive"] = TimeToLive.DescribeAsync,
        ["UpdateContinuousBackups"] = Backups.UpdateContinuousBackupsAsync,
        ["DescribeContinuousBackups"] = Backups.DescribeContinuousBackupsAsync,
        ["RestoreTableToPointInTime"] = Backups.RestoreTableToPointInTimeAsync,
        ["CreateBackup"] = Backups.CreateBackupAsync,
        ["DescribeBackup"] = Backups.DescribeBackupAsync,
        ["ListBackups"] = Backups.ListBackupsAsync,
        ["DeleteBackup"] = Backups.DeleteBackupAsync,
        ["RestoreTableFromBackup"] = Backups.RestoreTableFromBackupAsync,
        ["PutResourcePolicy"] = ResourcePolicies.PutAsync,
        ["GetResourcePolicy"] = ResourcePolicies.GetAsync,
        ["DeleteResourcePolicy"] = ResourcePolicies.DeleteAsync,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The DynamoDB Streams API, served on the same endpoint under its own target prefix.</summary>
    private static readonly FrozenDictionary<string, OperationHandler> StreamHandlers = new Dictionary<string, OperationHandler>(StringComparer.Ordinal)
    {
        ["ListStreams"] = Streams.ListStreamsAsync,
        ["DescribeStream"] = Streams.DescribeStreamAsync,
        ["GetShardIterator"] = Streams.GetShardIteratorAsync,
        ["GetRecords"] = Streams.GetRecordsAsync,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The operation names this build serves, for docs and tests.</summary>
    public static IEnumerable<string> OperationNames => Handlers.Keys.Concat(StreamHandlers.Keys);

    public static OperationHandler? Find(string? target)
    {
        if (target is null) return null;
        if (target.StartsWith(DynamoPrefix, StringComparison.Ordinal))
            return Handlers.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(target.AsSpan(DynamoPrefix.Length), out var h) ? h : null;
        if (target.StartsWith(StreamsPrefix, StringComparison.Ordinal))
            return StreamHandlers.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(target.AsSpan(StreamsPrefix.Length), out var s) ? s : null;
        return null;
    }
}
