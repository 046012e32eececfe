using Serverless.Engine.Operations;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// The Kinesis Data Streams API (<c>Kinesis_20131202</c>, JSON 1.1, or CBOR: see <see cref="KinesisCbor"/>), served
/// on the DynamoDB endpoint. Records live in <see cref="KinesisStore"/>.
/// </summary>
public static class KinesisApi
{
    public static readonly ApiService Service = new("Kinesis_20131202.", "kinesis", ApiService.Json11, new Dictionary<string, OperationHandler>(StringComparer.Ordinal)
    {
        ["CreateStream"] = KinesisOperations.CreateStreamAsync,
        ["DeleteStream"] = KinesisOperations.DeleteStreamAsync,
        ["DescribeStream"] = KinesisOperations.DescribeStreamAsync,
        ["DescribeStreamSummary"] = KinesisOperations.DescribeStreamSummaryAsync,
        ["ListStreams"] = KinesisOperations.ListStreamsAsync,
        ["ListShards"] = KinesisOperations.ListShardsAsync,
        ["GetShardIterator"] = KinesisOperations.GetShardIteratorAsync,
        ["GetRecords"] = KinesisOperations.GetRecordsAsync,
        ["PutRecord"] = KinesisOperations.PutRecordAsync,
        ["PutRecords"] = KinesisOperations.PutRecordsAsync,
        ["IncreaseStreamRetentionPeriod"] = KinesisOperations.IncreaseStreamRetentionPeriodAsync,
        ["DecreaseStreamRetentionPeriod"] = KinesisOperations.DecreaseStreamRetentionPeriodAsync,
        ["AddTagsToStream"] = KinesisOperations.AddTagsToStreamAsync,
        ["RemoveTagsFromStream"] = KinesisOperations.RemoveTagsFromStreamAsync,
        ["ListTagsForStream"] = KinesisOperations.ListTagsForStreamAsync,
        ["DescribeLimits"] = KinesisOperations.DescribeLimitsAsync,
        ["SplitShard"] = KinesisOperations.SplitShardAsync,
        ["MergeShards"] = KinesisOperations.MergeShardsAsync,
        ["UpdateShardCount"] = KinesisOperations.UpdateShardCountAsync,
    });
}
