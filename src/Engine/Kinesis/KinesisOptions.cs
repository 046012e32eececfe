namespace Serverless.Engine.Kinesis;

/// <summary>
/// Settings of the Kinesis Data Streams service (configuration section <c>Kinesis</c>: <c>Kinesis__SegmentBytes</c>, …).
/// The hosts bind it into <see cref="EngineOptions.Kinesis"/>.
/// </summary>
public sealed class KinesisOptions
{
    public const string Section = "Kinesis";

    /// <summary>A shard's segment file rolls to a new one past this size; retention deletes whole segments. Default: 64 MiB.</summary>
    public long SegmentBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Open shards the account may have, over every stream (AWS's default quota). Default: 500.</summary>
    public int ShardLimit { get; set; } = 500;

    /// <summary>Shards of an ON_DEMAND stream (AWS starts one at 4 shards). Default: 4.</summary>
    public int OnDemandShardCount { get; set; } = 4;

    /// <summary>Enforce the per-shard limits (1 MiB and 1,000 records per second written, 5 GetRecords calls and 2 MiB per second read). Default: true.</summary>
    public bool EnforceShardLimits { get; set; } = true;

    public void Validate()
    {
        if (SegmentBytes < 64 * 1024) throw new ArgumentException("Kinesis.SegmentBytes must be at least 65536.");
        if (ShardLimit < 1) throw new ArgumentException("Kinesis.ShardLimit must be at least 1.");
        if (OnDemandShardCount < 1 || OnDemandShardCount > ShardLimit) throw new ArgumentException("Kinesis.OnDemandShardCount must be from 1 to ShardLimit.");
    }
}
