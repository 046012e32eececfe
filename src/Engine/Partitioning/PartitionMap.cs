namespace Serverless.Engine.Partitioning;

/// <summary>
/// Which partition holds a partition-key hash: partition <c>k</c> of <c>P</c> owns the contiguous hash range
/// <c>[⌈k·2³²/P⌉, ⌈(k+1)·2³²/P⌉)</c>, so visiting partitions 0…P−1 in turn is the store's hash order (docs/scale-out.md).
/// </summary>
public static class PartitionMap
{
    /// <summary>The most partitions a store can be created with.</summary>
    public const int MaxPartitions = 256;

    /// <summary>The partition of hash <paramref name="hash"/> among <paramref name="count"/>: <c>⌊hash·P / 2³²⌋</c>.</summary>
    public static int PartitionOf(uint hash, int count) => (int)(((ulong)hash * (ulong)count) >> 32);

    /// <summary>
    /// The partitions a parallel-Scan segment overlaps, first and last inclusive: segment <paramref name="segment"/>
    /// of <paramref name="totalSegments"/> is the hash range <c>[⌊i·2³²/N⌋, ⌊(i+1)·2³²/N⌋)</c>, as Scan cuts it (never empty: TotalSegments is at most a million).
    /// </summary>
    public static (int First, int Last) PartitionsOfSegment(long segment, long totalSegments, int count)
    {
        var lower = (ulong)segment * 0x1_0000_0000UL / (ulong)totalSegments;
        var upper = ((ulong)segment + 1) * 0x1_0000_0000UL / (ulong)totalSegments;
        return (PartitionOf((uint)lower, count), PartitionOf((uint)(upper - 1), count));
    }
}
