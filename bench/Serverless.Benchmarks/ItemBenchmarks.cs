using Serverless.Engine;

namespace Serverless.Benchmarks;

/// <summary>
/// PutItem and GetItem of ~200-byte items on a hash-key table, one thread, through the request handler. Each
/// invocation sends <see cref="Ops"/> requests, so the reported mean is per request. <see cref="Durable"/> = true
/// is the on-disk configuration (temp data folder, default change-log sync); false is the in-memory store.
/// </summary>
[Config(typeof(ItemConfig))]
[MemoryDiagnoser]
public class ItemBenchmarks
{
    private const int Ops = 1000;
    private const int Keys = 50_000;
    private const string Table = "items";

    private DynamoEngine _engine = null!;
    private string? _directory;
    private ApiClient _client = null!;
    private byte[][] _puts = null!;
    private byte[][] _gets = null!;
    private int _nextPut;
    private int _nextGet;

    [Params(true, false)]
    public bool Durable { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_engine, _directory) = await ApiClient.OpenEngineAsync(Durable);
        _client = new ApiClient(_engine);
        await _client.CallAsync(Targets.CreateTable, Requests.CreateHashTable(Table));

        // Two rounds of values, so every put changes its item (an identical put is not logged).
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
    public Task CleanupAsync() => ApiClient.CloseEngineAsync(_engine, _directory);

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

internal static class Targets
{
    public const string CreateTable = "DynamoDB_20120810.CreateTable";
    public const string PutItem = "DynamoDB_20120810.PutItem";
    public const string GetItem = "DynamoDB_20120810.GetItem";
    public const string UpdateItem = "DynamoDB_20120810.UpdateItem";
    public const string BatchWriteItem = "DynamoDB_20120810.BatchWriteItem";
    public const string Query = "DynamoDB_20120810.Query";
    public const string Scan = "DynamoDB_20120810.Scan";
}
