using Serverless.Engine;

namespace Serverless.Benchmarks;

/// <summary>
/// The full request path in process, from body bytes to response bytes through <see cref="Engine.Protocol.RequestHandler"/>,
/// for the four operations whose allocation per request issue 13 sets goals for: GetItem and PutItem of ~200-byte items,
/// UpdateItem (SET with an expression and ExpressionAttributeValues) and Query returning 10 items. In memory, so the
/// figures are the request path's own (no change-log I/O). MemoryDiagnoser's "Allocated" column is per request.
/// </summary>
[Config(typeof(ShortConfig))]
[MemoryDiagnoser]
public class RequestPathBenchmarks
{
    private const int Ops = 1000;
    private const int Keys = 10_000;
    private const string Table = "items";

    private DynamoEngine _engine = null!;
    private ApiClient _client = null!;
    private byte[][] _puts = null!;
    private byte[][] _gets = null!;
    private byte[][] _updates = null!;
    private byte[][] _queries = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_engine, _) = await ApiClient.OpenEngineAsync(durable: false);
        _client = await RangeTable.LoadAsync(_engine, 100 * RangeTable.PerPartition);
        await _client.CallAsync(Targets.CreateTable, Requests.CreateHashTable(Table));

        // Two values per key, so every put changes its item.
        string[] values = [Requests.Value(160, 1), Requests.Value(160, 2)];
        _puts = new byte[2 * Keys][];
        for (var i = 0; i < _puts.Length; i++) _puts[i] = Requests.PutItem(Table, i % Keys, values[i / Keys]);
        for (var i = 0; i < Keys; i++) await _client.CallAsync(Targets.PutItem, _puts[i]);
        _gets = new byte[Keys][];
        _updates = new byte[Keys][];
        for (var i = 0; i < Keys; i++)
        {
            _gets[i] = Requests.GetItem(Table, i);
            _updates[i] = Requests.UpdateItem(Table, i, i);
        }

        _queries = new byte[100][];
        for (var i = 0; i < _queries.Length; i++) _queries[i] = Requests.Query(RangeTable.Name, i, 10);
        Check(await _client.CallAsync(Targets.GetItem, _gets[0], Requests.Text), "\"Item\"");
        Check(await _client.CallAsync(Targets.UpdateItem, _updates[0], Requests.Text), "{}");
        Check(await _client.CallAsync(Targets.Query, _queries[0], Requests.Text), "\"Count\":10");
    }

    private static void Check(string response, string expected)
    {
        if (!response.Contains(expected, StringComparison.Ordinal)) throw new InvalidOperationException($"Unexpected answer {response}");
    }

    [GlobalCleanup]
    public Task CleanupAsync() => ApiClient.CloseEngineAsync(_engine, null);

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task GetItem()
    {
        for (var i = 0; i < Ops; i++) await _client.CallAsync(Targets.GetItem, _gets[Next(_gets.Length)]);
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task PutItem()
    {
        for (var i = 0; i < Ops; i++) await _client.CallAsync(Targets.PutItem, _puts[Next(_puts.Length)]);
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task UpdateItem()
    {
        for (var i = 0; i < Ops; i++) await _client.CallAsync(Targets.UpdateItem, _updates[Next(_updates.Length)]);
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task Query10()
    {
        for (var i = 0; i < Ops; i++) await _client.CallAsync(Targets.Query, _queries[Next(_queries.Length)]);
    }

    /// <summary>The operation named <paramref name="op"/> (get, put, update, query) as a loop of <see cref="Ops"/> requests.</summary>
    internal Func<Task> Step(string op) => op switch
    {
        "get" => GetItem,
        "put" => PutItem,
        "update" => UpdateItem,
        "query" => Query10,
        _ => throw new ArgumentException("op must be get, put, update or query"),
    };

    internal const int RequestsPerStep = Ops;

    private int Next(int n)
    {
        if (++_next >= n) _next = 0;
        return _next;
    }
}
