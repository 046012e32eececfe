using Serverless.Engine;

namespace Serverless.Benchmarks;

/// <summary>
/// The cost of capacity enforcement (src/Engine/Capacity) on PutItem and GetItem: the same ~200-byte items on an
/// in-memory provisioned table (1,000,000 RCU/WCU, so nothing is throttled) with <see cref="Enforce"/> on and off.
/// On: one admission per request (table bucket and partition-key bucket, compare-and-swap) and one settlement;
/// off: metering only.
/// </summary>
[Config(typeof(ShortConfig))]
[MemoryDiagnoser]
public class CapacityBenchmarks
{
    private const int Ops = 1000;
    private const int Keys = 50_000;
    private const string Table = "cap";

    private DynamoEngine _engine = null!;
    private ApiClient _client = null!;
    private byte[][] _puts = null!;
    private byte[][] _gets = null!;
    private int _nextPut;
    private int _nextGet;

    [Params(true, false)]
    public bool Enforce { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var options = new EngineOptions { InMemory = true, StoreMemoryBytes = 1L << 30 };
        options.Capacity.Enforce = Enforce;
        _engine = await DynamoEngine.OpenAsync(options);
        _client = new ApiClient(_engine);
        await _client.CallAsync(Targets.CreateTable, Requests.Utf8(
            """{"TableName":"cap","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"ProvisionedThroughput":{"ReadCapacityUnits":1000000,"WriteCapacityUnits":1000000}}"""));
        string[] values = [Requests.Value(160, 1), Requests.Value(160, 2)];
        _puts = new byte[2 * Keys][];
        for (var i = 0; i < _puts.Length; i++) _puts[i] = Requests.PutItem(Table, i % Keys, values[i / Keys]);
        _gets = new byte[Keys][];
        var order = Enumerable.Range(0, Keys).ToArray();
        new Random(7).Shuffle(order);
        for (var i = 0; i < Keys; i++) _gets[i] = Requests.GetItem(Table, order[i]);
        for (var i = 0; i < Keys; i++) await _client.CallAsync(Targets.PutItem, _puts[Keys + i]);
    }

    [GlobalCleanup]
    public Task CleanupAsync() => ApiClient.CloseEngineAsync(_engine, null);

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task PutItem()
    {
        for (var i = 0; i < Ops; i++)
        {
            await _client.CallAsync(Targets.PutItem, _puts[_nextPut]);
            if (++_nextPut == _puts.Length) _nextPut = 0;
        }
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task GetItem()
    {
        for (var i = 0; i < Ops; i++)
        {
            await _client.CallAsync(Targets.GetItem, _gets[_nextGet]);
            if (++_nextGet == _gets.Length) _nextGet = 0;
        }
    }
}
