using System.Text.Json;

namespace Serverless.Engine.Operations;

/// <summary>Executes one operation: reads the parsed request, writes the response object.</summary>
public delegate ValueTask OperationHandler(OperationContext context, JsonElement request, Utf8JsonWriter response);

/// <summary>The one dispatch table from <c>X-Amz-Target</c> to an operation handler.</summary>
public static class OperationTable
{
    /// <summary>DynamoDB itself.</summary>
    public static readonly ApiService DynamoDb = new("DynamoDB_20120810.", "dynamodb", ApiService.Json10, new Dictionary<string, OperationHandler>(StringComparer.Ordinal)
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
        ["ExportTableToPointInTime"] = Exports.ExportOperations.ExportTableToPointInTimeAsync,
        ["DescribeExport"] = Exports.ExportOperations.DescribeExportAsync,
        ["ListExports"] = Exports.ExportOperations.ListExportsAsync,
        ["ImportTable"] = Exports.ImportOperations.ImportTableAsync,
        ["DescribeImport"] = Exports.ImportOperations.DescribeImportAsync,
        ["ListImports"] = Exports.ImportOperations.ListImportsAsync,
        ["EnableKinesisStreamingDestination"] = Kinesis.KinesisStreamingDestination.EnableAsync,
        ["DisableKinesisStreamingDestination"] = Kinesis.KinesisStreamingDestination.DisableAsync,
        ["DescribeKinesisStreamingDestination"] = Kinesis.KinesisStreamingDestination.DescribeAsync,
        ["UpdateKinesisStreamingDestination"] = Kinesis.KinesisStreamingDestination.UpdateAsync,
    });

    /// <summary>The DynamoDB Streams API, served on the same endpoint under its own target prefix.</summary>
    public static readonly ApiService DynamoDbStreams = new("DynamoDBStreams_20120810.", "dynamodb", ApiService.Json10, new Dictionary<string, OperationHandler>(StringComparer.Ordinal)
    {
        ["ListStreams"] = Streams.ListStreamsAsync,
        ["DescribeStream"] = Streams.DescribeStreamAsync,
        ["GetShardIterator"] = Streams.GetShardIteratorAsync,
        ["GetRecords"] = Streams.GetRecordsAsync,
    });

    /// <summary>Every API this endpoint serves, each selected by its target prefix.</summary>
    public static readonly ApiService[] Services =
    [
        DynamoDb,
        DynamoDbStreams,
        Kinesis.KinesisApi.Service,
        AutoScaling.AutoScalingApi.Service,
        Cache.DaxApi.Service,
    ];

    /// <summary>The DynamoDB and DynamoDB Streams operation names this build serves, for docs and tests.</summary>
    public static IEnumerable<string> OperationNames => DynamoDb.OperationNames.Concat(DynamoDbStreams.OperationNames);

    /// <summary>The API whose target prefix <paramref name="target"/> carries, or null.</summary>
    public static ApiService? ServiceFor(string? target)
    {
        if (target is null) return null;
        foreach (var service in Services)
            if (service.Serves(target)) return service;
        return null;
    }

    public static OperationHandler? Find(string? target) => Find(target, out _);

    public static OperationHandler? Find(string? target, out ApiService? service)
    {
        service = ServiceFor(target);
        return service?.Find(target!);
    }
}
