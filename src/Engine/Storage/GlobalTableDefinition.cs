namespace Serverless.Engine.Storage;

/// <summary>
/// A table's membership of a global table (version 2019.11.21), persisted with its definition: the other regions'
/// replicas as this region knows them. Null on a table that has never had a replica.
/// </summary>
public sealed class GlobalTableDefinition
{
    /// <summary>The global tables version, as DescribeTable reports it.</summary>
    public string Version { get; init; } = GlobalTableVersion;

    public const string GlobalTableVersion = "2019.11.21";

    /// <summary>The other regions' replicas, in the order they were added.</summary>
    public List<ReplicaDefinition> Replicas { get; set; } = [];

    /// <summary>
    /// Fingerprint of the settings kept in sync across replicas (indexes, TTL, billing), as last sent to or received
    /// from the other replicas; a local change makes the table's settings differ from it, which sends them.
    /// </summary>
    public string? SyncedSettings { get; set; }

    /// <summary>
    /// Per synced settings group (see src/Replicator/GlobalTables/SyncedSettings.cs), the version of its current
    /// value: "microseconds/region" of the change. The higher version wins when two regions change the same group at
    /// once, as the last writer wins for items. Null in catalogs written before versions.
    /// </summary>
    public Dictionary<string, string>? SettingsVersions { get; set; }

    /// <summary>
    /// Regions removed from the replication group (a replica inaccessible for more than 20 hours, or deleted), with
    /// when (seconds since the epoch): replication from them is refused, as AWS stops it both ways. A region added
    /// again leaves this list. Null when none.
    /// </summary>
    public Dictionary<string, double>? Removed { get; set; }

    public GlobalTableDefinition Clone() => new()
    {
        Version = Version, Replicas = [.. Replicas.Select(r => r.Clone())], SyncedSettings = SyncedSettings,
        SettingsVersions = SettingsVersions == null ? null : new Dictionary<string, string>(SettingsVersions, StringComparer.Ordinal),
        Removed = Removed == null ? null : new Dictionary<string, double>(Removed, StringComparer.Ordinal),
    };

    /// <summary>Whether replication from <paramref name="region"/> is refused (it was removed from the group).</summary>
    public bool IsRemoved(string region) => Removed?.ContainsKey(region) == true;

    public ReplicaDefinition? Find(string region) => Replicas.Find(r => r.RegionName == region);
}

/// <summary>One replica of a global table in another region, as DescribeTable's <c>Replicas</c> shows it.</summary>
public sealed class ReplicaDefinition
{
    public required string RegionName { get; init; }

    /// <summary>CREATING, ACTIVE, UPDATING, DELETING or REGION_DISABLED (<see cref="ReplicaStatus"/>).</summary>
    public string Status { get; set; } = ReplicaStatus.Creating;

    /// <summary>While the replica is created: how much of the existing items have been copied, "0" to "100".</summary>
    public string? PercentProgress { get; set; }

    /// <summary>Seconds since the epoch at which the replica became unreachable; null while it is reachable.</summary>
    public double? InaccessibleSince { get; set; }

    public string? KmsMasterKeyId { get; set; }

    /// <summary>ProvisionedThroughputOverride.ReadCapacityUnits of the replica.</summary>
    public long? ReadCapacityUnitsOverride { get; set; }

    /// <summary>OnDemandThroughputOverride.MaxReadRequestUnits of the replica.</summary>
    public long? MaxReadRequestUnitsOverride { get; set; }

    public string? TableClassOverride { get; set; }

    /// <summary>Per-index read overrides of the replica.</summary>
    public List<ReplicaIndexDefinition>? Indexes { get; set; }

    public ReplicaDefinition Clone() => new()
    {
        RegionName = RegionName, Status = Status, PercentProgress = PercentProgress, InaccessibleSince = InaccessibleSince,
        KmsMasterKeyId = KmsMasterKeyId, ReadCapacityUnitsOverride = ReadCapacityUnitsOverride,
        MaxReadRequestUnitsOverride = MaxReadRequestUnitsOverride, TableClassOverride = TableClassOverride,
        Indexes = Indexes?.Select(i => i with { }).ToList(),
    };
}

/// <summary>A replica's read override of one global secondary index.</summary>
public sealed record ReplicaIndexDefinition
{
    public required string IndexName { get; init; }

    public long? ReadCapacityUnitsOverride { get; init; }

    public long? MaxReadRequestUnitsOverride { get; init; }
}

/// <summary>Replica status names, as DescribeTable reports them.</summary>
public static class ReplicaStatus
{
    public const string Creating = "CREATING";
    public const string Active = "ACTIVE";
    public const string Updating = "UPDATING";
    public const string Deleting = "DELETING";
    public const string RegionDisabled = "REGION_DISABLED";
}
