namespace Serverless.Engine;

public sealed partial class DynamoEngine
{
    private DynamoEngine[]? _stores;

    /// <summary>
    /// The router of a store split into partitions (<see cref="EngineOptions.Partitions"/> &gt; 1), set on partition 0's
    /// engine, the one hosts see; null for a store without partitions and on the other partitions' engines.
    /// </summary>
    public Partitioning.PartitionRouter? Partitions { get; internal set; }

    /// <summary>Every store this engine answers for: the engines of the partitions it holds, or itself. The timers (checkpoint, TTL sweep) visit each.</summary>
    public IReadOnlyList<DynamoEngine> Stores => Partitions?.Engines ?? (_stores ??= [this]);

    private async ValueTask DisposePartitionsAsync()
    {
        if (Partitions is not { } partitions) return;
        for (var k = 1; k < partitions.Engines.Count; k++) await partitions.Engines[k].DisposeAsync().ConfigureAwait(false);
    }
}
