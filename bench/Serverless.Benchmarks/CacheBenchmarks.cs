using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Serverless.Engine;
using Serverless.Engine.Protocol;

namespace Serverless.Benchmarks;

/// <summary>
/// Cache hits against plain reads, in the same run: GetItem of ~200-byte items (1,000 hot keys) and Query of a
/// partition (Limit 10 of 100 items, 100 partitions), each sent straight to the table and through a DAX-style
/// cluster whose cache holds every answer. Both go through <see cref="RequestHandler.HandleAsync"/> exactly as the
/// HTTP functions call it (the cluster's request carries its name, as <c>/dax/{cluster}</c> does). In memory.
/// </summary>
[Config(typeof(CacheConfig))]
[MemoryDiagnoser]
public class CacheBenchmarks
{
    private const int Ops = 1000;
    private const int HotKeys = 1000;
    private const string Table = "items";
    private const string Cluster = "bench";

    private DynamoEngine _engine = null!;
    private ApiClient _client = null!;
    private readonly ApiClient.BodyStream _body = new();
    private byte[][] _gets = null!;
    private byte[][] _queries = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_engine, _) = await ApiClient.OpenEngineAsync(durable: false);
        _client = await RangeTable.LoadAsync(_engine, 100 * RangeTable.PerPartition);
        await _client.CallAsync(Targets.CreateTable, Requests.CreateHashTable(Table));
        var value = Requests.Value(160, 1);
        for (var i = 0; i < HotKeys; i++) await _client.CallAsync(Targets.PutItem, Requests.PutItem(Table, i, value));
        await _client.CallAsync("AmazonDAXV3.CreateCluster", Requests.Utf8(
            """{"ClusterName":"bench","NodeType":"dax.r5.large","ReplicationFactor":1,"IamRoleArn":"arn:aws:iam::000000000000:role/DAX"}"""));
        _gets = new byte[HotKeys][];
        for (var i = 0; i < HotKeys; i++) _gets[i] = Requests.GetItem(Table, i);
        _queries = new byte[100][];
        for (var i = 0; i < _queries.Length; i++) _queries[i] = Requests.Query(RangeTable.Name, i, 10);

        // Warm the cache: every answer the measured loops ask for is a hit.
        foreach (var get in _gets) await CachedAsync(Targets.GetItem, get);
        foreach (var query in _queries) await CachedAsync(Targets.Query, query);
    }

    [GlobalCleanup]
    public Task CleanupAsync() => ApiClient.CloseEngineAsync(_engine, null);

    private async ValueTask<int> CachedAsync(string target, byte[] body)
    {
        _body.Reset(body);
        using var response = await _engine.Handler.HandleAsync(new ApiRequest(target, ApiClient.Auth, body.Length, _body, Cluster: Cluster)).ConfigureAwait(false);
        if (response.StatusCode != 200) throw new InvalidOperationException($"{target} through the cluster answered {response.StatusCode}");
        return response.Body.Length;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Ops)]
    public async Task GetItem_Table()
    {
        for (var i = 0; i < Ops; i++) await _client.CallAsync(Targets.GetItem, _gets[Next(HotKeys)]);
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task GetItem_CacheHit()
    {
        for (var i = 0; i < Ops; i++) await CachedAsync(Targets.GetItem, _gets[Next(HotKeys)]);
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task Query10_Table()
    {
        for (var i = 0; i < Ops; i++) await _client.CallAsync(Targets.Query, _queries[Next(_queries.Length)]);
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task Query10_CacheHit()
    {
        for (var i = 0; i < Ops; i++) await CachedAsync(Targets.Query, _queries[Next(_queries.Length)]);
    }

    /// <summary>
    /// Runs the four benchmarks one after another, <paramref name="rounds"/> times, and prints the minimum and
    /// median per-request time of each: on a machine whose load changes, neighbours in time see the same load.
    /// </summary>
    public static async Task InterleavedAsync(int rounds)
    {
        var bench = new CacheBenchmarks();
        await bench.SetupAsync();
        (string Name, Func<Task> Run)[] cases =
            [("GetItem_Table", bench.GetItem_Table), ("GetItem_CacheHit", bench.GetItem_CacheHit), ("Query10_Table", bench.Query10_Table), ("Query10_CacheHit", bench.Query10_CacheHit)];
        var times = cases.Select(_ => new List<double>()).ToArray();
        for (var r = 0; r < rounds; r++)
        {
            for (var c = 0; c < cases.Length; c++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                await cases[c].Run();
                times[c].Add(sw.Elapsed.TotalMicroseconds / Ops);
            }
        }

        for (var c = 0; c < cases.Length; c++)
        {
            var sorted = times[c].Order().ToList();
            Console.WriteLine($"{cases[c].Name,-18} min {sorted[0],8:F2} us  median {sorted[sorted.Count / 2],8:F2} us  ({rounds} rounds of {Ops})");
        }

        await bench.CleanupAsync();
    }

    private int Next(int n)
    {
        if (++_next >= n) _next = 0;
        return _next;
    }
}

/// <summary>
/// A short run (BenchmarkDotNet's ShortRun: 3 warm-ups, 3 iterations) in this process (InProcessEmitToolchain): on
/// this shared machine the separate build of a benchmark process timed out at BenchmarkDotNet's two minutes.
/// </summary>
public sealed class CacheConfig : ManualConfig
{
    public CacheConfig()
    {
        AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.OperationsPerSecond);
    }
}
