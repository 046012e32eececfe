using Serverless.Engine;

namespace Serverless.Benchmarks;

/// <summary>
/// The cost of capacity enforcement (src/Engine/Capacity) on PutItem and GetItem: the same ~200-byte items on an
/// in-memory provisioned table (10^9 RCU/WCU and per-key limits, so nothing is throttled) with <see cref="Enforce"/> on and off.
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
    private const int KeySamples = 1024;
    private byte[][] _keys = null!;

    [Params(true, false)]
    public bool Enforce { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var options = new EngineOptions { InMemory = true, StoreMemoryBytes = 1L << 30 };
        options.Capacity.Enforce = Enforce;

        // Limits no loop reaches (AdmitAndSettle runs millions a second through a few keys): the cost is measured, not throttling.
        options.Capacity.PartitionReadUnits = options.Capacity.PartitionWriteUnits = 1_000_000_000;
        _engine = await DynamoEngine.OpenAsync(options);
        _client = new ApiClient(_engine);
        await _client.CallAsync(Targets.CreateTable, Requests.Utf8(
            """{"TableName":"cap","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"ProvisionedThroughput":{"ReadCapacityUnits":1000000000,"WriteCapacityUnits":1000000000}}"""));
        string[] values = [Requests.Value(160, 1), Requests.Value(160, 2)];
        _puts = new byte[2 * Keys][];
        for (var i = 0; i < _puts.Length; i++) _puts[i] = Requests.PutItem(Table, i % Keys, values[i / Keys]);
        _gets = new byte[Keys][];
        var order = Enumerable.Range(0, Keys).ToArray();
        new Random(7).Shuffle(order);
        for (var i = 0; i < Keys; i++) _gets[i] = Requests.GetItem(Table, order[i]);
        for (var i = 0; i < Keys; i++) await _client.CallAsync(Targets.PutItem, _puts[Keys + i]);
        var number = _engine.Database.FindTable(Table)!.Number;
        _keys = new byte[KeySamples][];
        for (var i = 0; i < KeySamples; i++) _keys[i] = Serverless.Engine.Model.KeyCodec.EncodeKey(number, Serverless.Engine.Model.AttrValue.FromS(Requests.Key(i)), null);
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

    /// <summary>The admission and settlement of one write alone (what enforcement adds to a PutItem), without the request.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public void AdmitAndSettle()
    {
        var gate = _engine.Capacity;
        var table = _engine.Database.FindTable(Table)!;
        for (var i = 0; i < Ops; i++)
        {
            var key = _keys[i & (KeySamples - 1)];
            if (gate.TryAdmitWrite(table, key, 1, 0, out var admission).Refused) throw new InvalidOperationException("throttled");
            gate.Settle(admission, 1);
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
