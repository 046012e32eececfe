using System.Text.Json.Serialization;

namespace Serverless.Engine.Storage;

/// <summary>
/// A table's definition as persisted in the catalog (checkpoint manifest and catalog change records, as JSON).
/// Add members only with defaults that read old records correctly; a golden test guards the field names.
/// </summary>
public sealed class TableDefinition
{
    public required string Name { get; init; }

    /// <summary>Never reused: storage keys of a dropped table cannot collide with a re-created one.</summary>
    public required uint TableNumber { get; init; }

    public required string TableId { get; init; }

    public required string Region { get; init; }

    public required string AccountId { get; init; }

    public required KeyAttribute HashKey { get; init; }

    public KeyAttribute? RangeKey { get; init; }

    public required List<KeyAttribute> AttributeDefinitions { get; init; }

    /// <summary>PROVISIONED or PAY_PER_REQUEST.</summary>
    public string BillingMode { get; set; } = "PROVISIONED";

    public long ReadCapacityUnits { get; set; }

    public long WriteCapacityUnits { get; set; }

    public double? LastIncreaseDateTime { get; set; }

    public double? LastDecreaseDateTime { get; set; }

    public int NumberOfDecreasesToday { get; set; }

    public double? LastUpdateToPayPerRequestDateTime { get; set; }

    /// <summary>STANDARD or STANDARD_INFREQUENT_ACCESS.</summary>
    public string TableClass { get; set; } = "STANDARD";

    public bool DeletionProtectionEnabled { get; set; }

    /// <summary>Seconds since the Unix epoch, with fraction.</summary>
    public required double CreationDateTime { get; init; }

    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The current stream's view type while a stream is enabled; null otherwise.</summary>
    public string? StreamViewType { get; set; }

    /// <summary>Every stream the table has had, oldest first; disabled ones stay readable for 24 hours.</summary>
    public List<StreamDefinition>? Streams { get; set; }

    /// <summary>Point-in-time recovery: the window in days while enabled (1–35), null while disabled.</summary>
    public int? RecoveryPeriodInDays { get; set; }

    /// <summary>When point-in-time recovery was last enabled (seconds since the epoch): the window cannot start earlier.</summary>
    public double? RecoveryEnabledAt { get; set; }

    /// <summary>Set on a table created by a restore: where it came from, and whether its items are still loading.</summary>
    public RestoreSummary? Restore { get; set; }

    /// <summary>Set on a table created by ImportTable: its import ARN while the items load (the table is CREATING), null after.</summary>
    public string? ImportInProgress { get; set; }

    /// <summary>The TTL attribute while time to live is enabled; null when it is disabled.</summary>
    public string? TimeToLiveAttribute { get; set; }

    /// <summary>Server-side encryption with a KMS key (SSESpecification Enabled); null for the AWS owned key.</summary>
    public SseDefinition? Sse { get; set; }

    /// <summary>Local and global secondary indexes, in declaration order; null when there are none.</summary>
    public List<IndexDefinition>? Indexes { get; set; }

    /// <summary>The table's resource-based policy (PutResourcePolicy, or CreateTable's ResourcePolicy); null when it has none.</summary>
    public ResourcePolicyDefinition? ResourcePolicy { get; set; }

    /// <summary>Application Auto Scaling targets, policies and activities of the table and its indexes; null when it has none.</summary>
    public AutoScaling.AutoScalingDefinition? AutoScaling { get; set; }

    /// <summary>Global tables: the other regions' replicas; null for a table that was never replicated.</summary>
    public GlobalTableDefinition? Global { get; set; }
    /// <summary>Kinesis Data Streams destinations (EnableKinesisStreamingDestination), oldest first; null when it never had one.</summary>
    public List<Kinesis.KinesisDestinationDefinition>? KinesisDestinations { get; set; }

    /// <summary>On-demand maximums (OnDemandThroughput); null when none was ever set.</summary>
    public Capacity.OnDemandLimits? OnDemandThroughput { get; set; }

    /// <summary>Warm throughput the table was raised to (WarmThroughput); null when never set.</summary>
    public Capacity.WarmThroughputDefinition? WarmThroughput { get; set; }

    private string? _arn;

    // Name, Region and AccountId are fixed at creation, so the ARN is built once (authorization reads it per request).
    [JsonIgnore]
    public string Arn => _arn ??= $"arn:aws:dynamodb:{Region}:{AccountId}:table/{Name}";

    public TableDefinition Clone() => new()
    {
        Name = Name, TableNumber = TableNumber, TableId = TableId, Region = Region, AccountId = AccountId,
        HashKey = HashKey, RangeKey = RangeKey, AttributeDefinitions = [.. AttributeDefinitions],
        BillingMode = BillingMode, ReadCapacityUnits = ReadCapacityUnits, WriteCapacityUnits = WriteCapacityUnits,
        LastIncreaseDateTime = LastIncreaseDateTime, LastDecreaseDateTime = LastDecreaseDateTime,
        NumberOfDecreasesToday = NumberOfDecreasesToday, LastUpdateToPayPerRequestDateTime = LastUpdateToPayPerRequestDateTime,
        TableClass = TableClass, DeletionProtectionEnabled = DeletionProtectionEnabled, CreationDateTime = CreationDateTime,
        Tags = new Dictionary<string, string>(Tags, StringComparer.Ordinal),
        Indexes = Indexes?.Select(i => i.Clone()).ToList(),
        TimeToLiveAttribute = TimeToLiveAttribute,
        RecoveryPeriodInDays = RecoveryPeriodInDays,
        RecoveryEnabledAt = RecoveryEnabledAt,
        Restore = Restore == null ? null : Restore with { },
        ImportInProgress = ImportInProgress,
        StreamViewType = StreamViewType,
        Sse = Sse,
        Streams = Streams?.Select(s => s with { }).ToList(),
        ResourcePolicy = ResourcePolicy,
        AutoScaling = AutoScaling?.Clone(),
        Global = Global?.Clone(),
        KinesisDestinations = KinesisDestinations?.Select(d => d with { }).ToList(),
        OnDemandThroughput = OnDemandThroughput,
        WarmThroughput = WarmThroughput,
    };

    public IndexDefinition? FindIndex(string name) => Indexes?.Find(i => i.Name == name);
}

/// <summary>
/// A table's KMS encryption as DescribeTable reports it (SSEDescription): the type (KMS) and the key's ARN.
/// </summary>
public sealed record SseDefinition(string SseType, string KmsMasterKeyArn);

/// <summary>
/// A secondary index as persisted in the catalog. Its entries are not persisted: they are derived from the items
/// and rebuilt when the engine opens.
/// </summary>
public sealed class IndexDefinition
{
    public required string Name { get; init; }

    /// <summary>Drawn from the same sequence as table numbers; the first field of the index's entry keys.</summary>
    public required uint Number { get; init; }

    /// <summary>True for a global secondary index, false for a local one.</summary>
    public required bool Global { get; init; }

    public required KeyAttribute HashKey { get; init; }

    public KeyAttribute? RangeKey { get; init; }

    /// <summary>
    /// A multi-attribute global index key: the partition key attributes after <see cref="HashKey"/>, in order; null
    /// for a single-attribute partition key (so older catalog records read unchanged).
    /// </summary>
    public List<KeyAttribute>? ExtraHashKeys { get; init; }

    /// <summary>The sort key attributes after <see cref="RangeKey"/>, in order; null when there are none.</summary>
    public List<KeyAttribute>? ExtraRangeKeys { get; init; }

    private KeyAttribute[]? _hashKeys;
    private KeyAttribute[]? _rangeKeys;

    /// <summary>Every partition key attribute, in KeySchema order (one for a classic index, up to four).</summary>
    [JsonIgnore]
    public KeyAttribute[] HashKeys => _hashKeys ??= ExtraHashKeys == null ? [HashKey] : [HashKey, .. ExtraHashKeys];

    /// <summary>Every sort key attribute, in KeySchema order (none, one, or up to four).</summary>
    [JsonIgnore]
    public KeyAttribute[] RangeKeys => _rangeKeys ??= RangeKey == null ? [] : ExtraRangeKeys == null ? [RangeKey] : [RangeKey, .. ExtraRangeKeys];

    /// <summary>Whether the key has more than one partition or sort attribute.</summary>
    [JsonIgnore]
    public bool MultiAttribute => ExtraHashKeys != null || ExtraRangeKeys != null;

    /// <summary>Whether <paramref name="name"/> is one of the index's key attributes.</summary>
    public bool IsKeyAttribute(string name)
    {
        foreach (var k in HashKeys) if (k.Name == name) return true;
        foreach (var k in RangeKeys) if (k.Name == name) return true;
        return false;
    }

    /// <summary>ALL, KEYS_ONLY or INCLUDE.</summary>
    public required string ProjectionType { get; init; }

    public List<string>? NonKeyAttributes { get; init; }

    /// <summary>CREATING while a global index added by UpdateTable is backfilled, then ACTIVE.</summary>
    public string Status { get; set; } = "ACTIVE";

    public long ReadCapacityUnits { get; set; }

    public long WriteCapacityUnits { get; set; }

    /// <summary>On-demand maximums of a global index (OnDemandThroughput); null when none was ever set.</summary>
    public Capacity.OnDemandLimits? OnDemandThroughput { get; set; }

    /// <summary>Warm throughput a global index was raised to; null when never set.</summary>
    public Capacity.WarmThroughputDefinition? WarmThroughput { get; set; }

    public IndexDefinition Clone() => new()
    {
        Name = Name, Number = Number, Global = Global, HashKey = HashKey, RangeKey = RangeKey, ProjectionType = ProjectionType,
        ExtraHashKeys = ExtraHashKeys == null ? null : [.. ExtraHashKeys], ExtraRangeKeys = ExtraRangeKeys == null ? null : [.. ExtraRangeKeys],
        NonKeyAttributes = NonKeyAttributes == null ? null : [.. NonKeyAttributes], Status = Status,
        ReadCapacityUnits = ReadCapacityUnits, WriteCapacityUnits = WriteCapacityUnits,
        OnDemandThroughput = OnDemandThroughput, WarmThroughput = WarmThroughput,
    };
}

/// <summary>
/// One DynamoDB stream of a table: a view of the change log's records of that table from <see cref="StartLsn"/>
/// until <see cref="EndLsn"/> (0 while enabled). Streams keep no copy of the changes.
/// </summary>
public sealed record StreamDefinition
{
    /// <summary>The creation time as AWS formats stream labels (<c>yyyy-MM-ddTHH:mm:ss.fff</c>, UTC).</summary>
    public required string Label { get; init; }

    public required string ViewType { get; init; }

    public required ulong StartLsn { get; init; }

    public ulong EndLsn { get; set; }

    public required double CreatedAt { get; init; }

    public double? DisabledAt { get; set; }

    /// <summary>The stream's own resource-based policy (independent of the table's); null when it has none.</summary>
    public ResourcePolicyDefinition? ResourcePolicy { get; set; }
}

/// <summary>A resource-based policy as stored: the document (minified, as GetResourcePolicy returns it) and its revision.</summary>
public sealed record ResourcePolicyDefinition
{
    public required string Document { get; init; }

    /// <summary>A numeric string, the commit time in milliseconds since the epoch, increasing with every change.</summary>
    public required string RevisionId { get; init; }
}

/// <summary>DynamoDB's RestoreSummary: the source of a restored table and the moment it was restored to.</summary>
public sealed record RestoreSummary
{
    public required string SourceTableArn { get; init; }

    public string? SourceBackupArn { get; init; }

    /// <summary>Seconds since the Unix epoch.</summary>
    public required double RestoreDateTime { get; init; }

    public bool InProgress { get; set; }
}

/// <summary>A key attribute: its name and scalar type (S, N or B).</summary>
public sealed record KeyAttribute(string Name, string Type);

/// <summary>The persisted checkpoint manifest: which FASTER checkpoint, where replay starts, and the catalog.</summary>
public sealed class StoreManifest
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public Guid FasterToken { get; init; }

    /// <summary>Replay the change log from this sequence number; every earlier change is in the checkpoint.</summary>
    public ulong ReplayFromLsn { get; init; }

    public uint NextTableNumber { get; init; }

    public List<TableDefinition> Tables { get; init; } = [];

    public double CreatedAt { get; init; }

    /// <summary>
    /// The ordered indexes (tables' keys, secondary and expiry indexes) as of <see cref="ReplayFromLsn"/>, with the
    /// statistics persisted beside them (src/Engine/Storage/Index). Absent in manifests of versions that rebuilt
    /// them from the items at every start, which this version still does for such a manifest.
    /// </summary>
    public List<Index.PersistedIndex>? Indexes { get; init; }

    /// <summary>Tables dropped whose items were not all purged yet; recovery purges them in the background.</summary>
    public List<uint>? PurgingTables { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TableDefinition))]
[JsonSerializable(typeof(StoreManifest))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
