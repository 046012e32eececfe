namespace Serverless.Engine.Capacity;

/// <summary>
/// On-demand maximums of a table or GSI (OnDemandThroughput), persisted with the table definition; -1 means no
/// maximum, as DynamoDB reports it.
/// </summary>
public sealed record OnDemandLimits
{
    public long MaxReadRequestUnits { get; init; } = -1;

    public long MaxWriteRequestUnits { get; init; } = -1;
}

/// <summary>Warm throughput a table or GSI was raised to (WarmThroughput on CreateTable/UpdateTable), persisted.</summary>
public sealed record WarmThroughputDefinition
{
    public long ReadUnitsPerSecond { get; init; }

    public long WriteUnitsPerSecond { get; init; }
}
