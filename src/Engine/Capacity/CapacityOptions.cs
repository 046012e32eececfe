namespace Serverless.Engine.Capacity;

/// <summary>
/// Capacity enforcement (<c>Capacity:*</c>, env <c>Capacity__Enforce</c>, …). Bound by the hosts from the top-level
/// <c>Capacity</c> section into <see cref="EngineOptions.Capacity"/>; validated at start-up.
/// </summary>
public sealed class CapacityOptions
{
    /// <summary>The configuration section the hosts bind.</summary>
    public const string Section = "Capacity";

    /// <summary>
    /// Throttle requests beyond a table's or index's provisioned throughput, burst, on-demand maximum or per-key limit,
    /// as DynamoDB does. False (the local host's <c>--no-throttling</c>) only meters. Default: true.
    /// </summary>
    public bool Enforce { get; set; } = true;

    /// <summary>Read units per second one partition key value may consume (one partition on AWS). Default: 3000.</summary>
    public long PartitionReadUnits { get; set; } = 3000;

    /// <summary>Write units per second one partition key value may consume (one partition on AWS). Default: 1000.</summary>
    public long PartitionWriteUnits { get; set; } = 1000;

    /// <summary>How many seconds of unused provisioned capacity a table or index keeps as burst. Default: 300, as on AWS.</summary>
    public int BurstSeconds { get; set; } = 300;

    /// <summary>Returns the first problem with these settings, or null.</summary>
    public string? FindProblem()
    {
        if (PartitionReadUnits < 1) return "PartitionReadUnits must be at least 1.";
        if (PartitionWriteUnits < 1) return "PartitionWriteUnits must be at least 1.";
        if (BurstSeconds is < 1 or > 3600) return "BurstSeconds must be from 1 to 3600.";
        return null;
    }
}
