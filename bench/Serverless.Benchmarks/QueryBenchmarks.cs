using Serverless.Engine;

namespace Serverless.Benchmarks;

/// <summary>
/// Query of one random partition returning 100 items, on tables of 10k and 1M items (100 items per partition):
/// the cost should be O(log n + k), so both sizes should cost about the same. In-memory store (reads only).
/// </summary>
[Config(typeof(QueryConfig))]
[MemoryDiagnoser]
public class QueryBenchmarks
{
    private const int Ops = 100;

    private DynamoEngine _engine = null!;
    private ApiClient _client = null!;
    private byte[][] _queries = null!;
    private int _next;

    [Params(10_000, 1_000_000)]
    public int Items { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_engine, _) = await ApiClient.OpenEngineAsync(durable: false);
        _client = await RangeTable.LoadAsync(_engine, Items);
        var partitions = Items / RangeTable.PerPartition;
        var r = new Random(11);
        _queries = new byte[4096][];
        for (var i = 0; i < _queries.Length; i++) _queries[i] = Requests.Query(RangeTable.Name, r.Next(partitions), 100);
        var length = await _client.CallAsync(Targets.Query, _queries[0]);
        if (length < 100 * 100) throw new InvalidOperationException($"Query returned only {length} bytes.");
    }

    [GlobalCleanup]
    public Task CleanupAsync() => ApiClient.CloseEngineAsync(_engine, null);

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task Query100()
    {
        for (var i = 0; i < Ops; i++)
        {
            await _client.CallAsync(Targets.Query, _queries[_next]);
            if (++_next == _queries.Length) _next = 0;
        }
    }
}
