using System.Globalization;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// The one factory for every Kinesis Data Streams error this endpoint returns. Kinesis (JSON 1.1) sends the bare
/// error name in <c>__type</c> and the text in <c>message</c>; the messages follow the ones AWS sends.
/// </summary>
public static class KinesisErrors
{
    private static DynamoException Error(string type, string message) => new(type, message) { BareWireType = true };

    public static DynamoException Validation(string message) => Error("ValidationException", message);

    /// <summary>AWS's constraint text: <c>1 validation error detected: Value '…' at '…' failed to satisfy constraint: …</c>.</summary>
    public static DynamoException Constraint(string? value, string member, string constraint) =>
        Validation($"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}");

    public static DynamoException Serialization(string message) => Error("SerializationException", message);

    public static DynamoException InvalidArgument(string message) => Error("InvalidArgumentException", message);

    public static DynamoException StreamNotFound(string stream, string account) =>
        Error("ResourceNotFoundException", $"Stream {stream} under account {account} not found.");

    public static DynamoException StreamExists(string stream, string account) =>
        Error("ResourceInUseException", $"Stream {stream} under account {account} already exists.");

    public static DynamoException StreamNotActive(string stream, string account, string status) =>
        Error("ResourceInUseException", $"Stream {stream} under account {account} not ACTIVE, instead in state {status}");

    public static DynamoException ShardNotFound(string shardId, string stream, string account) =>
        Error("ResourceNotFoundException", $"Shard {shardId} in stream {stream} under account {account} does not exist");

    public static DynamoException ShardLimit(string account, string region, int current, int limit, int requested) =>
        Error("LimitExceededException",
            $"This request would exceed the shard limit for the account {account} in {region}. Current shard count for the account: {current}. " +
            $"Limit: {limit}. Number of additional shards that would have resulted from this request: {requested}. Refer to the AWS Service Limits " +
            "page (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.");

    /// <summary>A write past a shard's 1 MiB or 1,000 records per second (PutRecord's error, PutRecords' per-record ErrorMessage).</summary>
    public static DynamoException WriteThroughputExceeded(string shardId, string stream, string account) =>
        Error("ProvisionedThroughputExceededException", WriteThroughputMessage(shardId, stream, account));

    public static string WriteThroughputMessage(string shardId, string stream, string account) =>
        $"Rate exceeded for shard {shardId} in stream {stream} under account {account}.";

    /// <summary>GetRecords past five calls or 2 MiB per second on a shard.</summary>
    public static DynamoException ReadThroughputExceeded(string shardId, string stream, string account) =>
        Error("ProvisionedThroughputExceededException", $"Rate exceeded for Shard - {shardId} in stream {stream} under account {account}.");

    public static DynamoException ExpiredIterator(DateTimeOffset issued, DateTimeOffset now, long lifetimeMilliseconds) =>
        Error("ExpiredIteratorException",
            $"Iterator expired. The iterator was created at time {AmzDate(issued)} while right now it is {AmzDate(now)} which is further in the future than the tolerated delay of {lifetimeMilliseconds} milliseconds.");

    public static DynamoException InvalidIterator() => InvalidArgument("Invalid ShardIterator.");

    public static DynamoException IteratorTypeMismatch(string type, bool withSequence) => InvalidArgument(
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. " +
        $"Request specified {type} and {(withSequence ? "also a" : "no")} StartingSequenceNumber.");

    public static DynamoException TimestampRequired() =>
        InvalidArgument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.");

    public static DynamoException InvalidSequenceNumber(string sequence, string shardId, string stream, string account) =>
        InvalidArgument($"StartingSequenceNumber {sequence} used in GetShardIterator on shard {shardId} in stream {stream} under account {account} is invalid.");

    public static DynamoException SequenceOfOtherShard(string encodedShard, string shardId) =>
        InvalidArgument($"Invalid StartingSequenceNumber. It encodes {encodedShard}, while it was used in a call to a shard with {shardId}");

    public static DynamoException SequenceOfOtherStream(string sequence, string shardId, string stream, string account) =>
        InvalidArgument($"StartingSequenceNumber {sequence} used in GetShardIterator on shard {shardId} in stream {stream} under account {account} is invalid because it did not come from this stream.");

    public static DynamoException RetentionTooShort(int hours) =>
        InvalidArgument($"Minimum allowed retention period is 24 hours. Requested retention period ({hours} hours) is too short.");

    public static DynamoException RetentionTooLong(int hours) =>
        InvalidArgument($"Maximum allowed retention period is 8760 hours. Requested retention period ({hours} hours) is too long.");

    public static DynamoException RetentionNotLonger(int hours, string stream, int current) =>
        InvalidArgument($"Requested retention period ({hours} hours) for stream {stream} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API.");

    public static DynamoException RetentionNotShorter(int hours, string stream, int current) =>
        InvalidArgument($"Requested retention period ({hours} hours) for stream {stream} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API.");

    public static DynamoException TooManyTags(string stream) =>
        InvalidArgument($"Failed to add tags to stream {stream} under account. A stream cannot have more than 50 tags.");

    public static DynamoException ExplicitHashKeyOutOfRange(string key) =>
        InvalidArgument($"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {key}");

    public static DynamoException InvalidStreamArn(string arn) =>
        InvalidArgument($"StreamARN {arn} is invalid.");

    public static DynamoException StreamNameArnMismatch() =>
        InvalidArgument("StreamARN and StreamName do not match.");

    public static DynamoException NextTokenAndStreamName() =>
        InvalidArgument("NextToken and StreamName cannot be provided together.");

    public static DynamoException InvalidNextToken() => InvalidArgument("Invalid NextToken.");

    /// <summary>SplitShard or MergeShards naming a shard the stream does not have (AWS's text differs from GetShardIterator's).</summary>
    public static DynamoException CouldNotFindShard(string shardId, string stream, string account) =>
        Error("ResourceNotFoundException", $"Could not find shard {shardId} in stream {stream} under account {account}.");

    public static DynamoException ShardNotEligible(string shardId, string stream, string account) =>
        InvalidArgument($"Shard {shardId} in stream {stream} under account {account} has already been merged or split, and thus is not eligible for merging or splitting.");

    public static DynamoException SplitHashKeyOutOfRange(string key, string shardId, string stream, string account, string start, string end) =>
        InvalidArgument($"NewStartingHashKey {key} used in SplitShard() on shard {shardId} in stream {stream} under account {account} is not both greater than one plus the shard's StartingHashKey {start} and less than the shard's EndingHashKey {end}.");

    public static DynamoException ShardsNotAdjacent(string shard, string adjacent, string stream, string account) =>
        InvalidArgument($"Shards {shard} and {adjacent} in stream {stream} under account {account} are not an adjacent pair of shards eligible for merging");

    // The UpdateShardCount limits below are AWS's documented limits; their exact texts are not confirmed against AWS.
    public static DynamoException ReshardOnDemand(string operation) =>
        Validation($"{operation} is not supported for streams in ON_DEMAND mode.");

    public static DynamoException ScaleRateExceeded(string stream, string account) =>
        Error("LimitExceededException", $"UpdateShardCount cannot scale stream {stream} under account {account} more than 10 times in a rolling 24-hour period.");

    public static DynamoException ScaleBeyondDouble(int target, int current) =>
        Error("LimitExceededException", $"UpdateShardCount cannot scale up to more than double the current shard count: target {target}, current {current}.");

    public static DynamoException ScaleBelowHalf(int target, int current) =>
        Error("LimitExceededException", $"UpdateShardCount cannot scale down below half the current shard count: target {target}, current {current}.");

    public static DynamoException ScaleBeyondStreamLimit(int target, int limit) =>
        Error("LimitExceededException", $"UpdateShardCount cannot scale a stream to more than {limit} shards: target {target}.");

    public static DynamoException ShardFilterShardIdRequired() =>
        InvalidArgument("ShardId must be specified in ShardFilter when its Type is AFTER_SHARD_ID.");

    public static DynamoException ShardFilterTimestampRequired(string type) =>
        InvalidArgument($"Timestamp must be specified in ShardFilter when its Type is {type}.");

    /// <summary>Java's <c>Date.toString()</c> in UTC, which Kinesis's iterator messages use: <c>Thu Dec 10 01:59:39 UTC 2015</c>.</summary>
    private static string AmzDate(DateTimeOffset time) =>
        time.UtcDateTime.ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", CultureInfo.InvariantCulture);
}
