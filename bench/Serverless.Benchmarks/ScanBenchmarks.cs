using System.Text;
using System.Text.Json;
using Serverless.Engine;

namespace Serverless.Benchmarks;

/// <summary>
/// A full Scan of 1M items, paging with LastEvaluatedKey (items/s = 1M / mean), and the same Scan split into
/// 4 segments run by 4 concurrent tasks. In-memory store.
/// </summary>
[Config(typeof(ScanConfig))]
[MemoryDiagnoser]
public class ScanBenchmarks
{
    private const int Items = 1_000_000;

    private DynamoEngine _engine = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_engine, _) = await ApiClient.OpenEngineAsync(durable: false);
        await RangeTable.LoadAsync(_engine, Items);
        var n = await ScanAsync(new ApiClient(_engine), null);
        if (n != Items) throw new InvalidOperationException($"Scan saw {n} items, expected {Items}.");
    }

    [GlobalCleanup]
    public Task CleanupAsync() => ApiClient.CloseEngineAsync(_engine, null);

    [Benchmark]
    public Task<long> FullScan() => ScanAsync(new ApiClient(_engine), null);

    [Benchmark]
    public async Task<long> ParallelScan4()
    {
        var tasks = new Task<long>[4];
        for (var s = 0; s < tasks.Length; s++)
        {
            var segment = s;
            tasks[s] = Task.Run(() => ScanAsync(new ApiClient(_engine), (segment, tasks.Length)));
        }

        long total = 0;
        foreach (var t in tasks) total += await t;
        if (total != Items) throw new InvalidOperationException($"Parallel scan saw {total} items.");
        return total;
    }

    /// <summary>Scans a whole table (or one segment), following LastEvaluatedKey; returns the items seen.</summary>
    private static async Task<long> ScanAsync(ApiClient client, (int Segment, int Total)? segment)
    {
        long items = 0;
        string? startKey = null;
        do
        {
            var body = new StringBuilder("{\"TableName\":\"").Append(RangeTable.Name).Append('"');
            if (segment is { } s) body.Append(",\"Segment\":").Append(s.Segment).Append(",\"TotalSegments\":").Append(s.Total);
            if (startKey != null) body.Append(",\"ExclusiveStartKey\":").Append(startKey);
            body.Append('}');
            var (count, next) = await client.CallAsync(Targets.Scan, Requests.Utf8(body.ToString()), ReadPage);
            items += count;
            startKey = next;
        }
        while (startKey != null);

        return items;
    }

    private static (int Count, string? LastKey) ReadPage(ReadOnlyMemory<byte> body)
    {
        // Count and LastEvaluatedKey follow the Items array; a reader skips the array without building it.
        var reader = new Utf8JsonReader(body.Span);
        int count = 0;
        string? last = null;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("Count"u8))
            {
                reader.Read();
                count = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("LastEvaluatedKey"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                last = Encoding.UTF8.GetString(body.Span[start..((int)reader.BytesConsumed)]);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return (count, last);
    }
}
