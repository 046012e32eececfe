global using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace Serverless.Benchmarks;

/// <summary>
/// One launch, few iterations (the suite should take minutes), and the columns the reports quote: median, min
/// and operations per second (per request, since each invocation declares its OperationsPerInvoke).
/// </summary>
public abstract class BenchConfig : ManualConfig
{
    protected BenchConfig(int warmups, int iterations)
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(warmups).WithIterationCount(iterations));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.OperationsPerSecond);
    }
}

/// <summary>Microsecond-scale item operations.</summary>
public sealed class ItemConfig() : BenchConfig(warmups: 3, iterations: 10);

/// <summary>Queries: the 1M-item setup dominates, so fewer iterations.</summary>
public sealed class QueryConfig() : BenchConfig(warmups: 3, iterations: 8);

/// <summary>Whole-table scans take most of a second each.</summary>
public sealed class ScanConfig() : BenchConfig(warmups: 2, iterations: 5);

/// <summary>
/// BenchmarkDotNet's ShortRun (3 warm-ups, 3 iterations), in process (no generated project to build): a brief
/// comparison, such as capacity enforcement on and off.
/// </summary>
public sealed class ShortConfig : ManualConfig
{
    public ShortConfig()
    {
        AddJob(Job.ShortRun.WithToolchain(BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.OperationsPerSecond);
    }
}
