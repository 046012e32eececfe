using System.Diagnostics;
using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.LargerThanMemory;

/// <summary>Runs only when <c>LTM_ITEMS</c> is set: the large, opt-in run of <see cref="LargerThanMemoryTests"/>.</summary>
public sealed class LargerThanMemoryFactAttribute : FactAttribute
{
    public LargerThanMemoryFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("LTM_ITEMS") is not { Length: > 0 }) Skip = "Set LTM_ITEMS (and LTM_STORE_MB, LTM_RSS_MB) to run the large larger-than-memory test.";
    }
}

/// <summary>
/// A table several times larger than the store's memory (<c>Engine__StoreMemoryBytes</c>), loaded through
/// BatchWriteItem: GetItem, Query, Scan (counted and paged), transactions, a backup and its restore, a point-in-time
/// restore, and a checkpoint followed by a restart all answer correctly, and the host's peak RSS stays within bound.
/// The default size runs in the normal suite and still spills to disk; the large run is opt-in:
/// <c>LTM_ITEMS=20000000 LTM_STORE_MB=256 LTM_RSS_MB=1024 dotnet test tests/Serverless.IntegrationTests --filter Category=LargerThanMemory</c>.
/// </summary>
public sealed class LargerThanMemoryTests(ITestOutputHelper output)
{
    internal const int PerPartition = 200;
    internal static readonly string Payload = new('x', 72);

    [Fact]
    public Task SmallTable_BeyondASmallStoreMemory_IsServedCorrectly() => RunAsync(200_000, 16, 1024);

    [LargerThanMemoryFact]
    [Trait("Category", "LargerThanMemory")]
    public Task LargeTable_BeyondStoreMemory_IsServedCorrectly_WithinRss() => RunAsync(
        int.Parse(Environment.GetEnvironmentVariable("LTM_ITEMS")!, CultureInfo.InvariantCulture),
        long.Parse(Environment.GetEnvironmentVariable("LTM_STORE_MB") ?? "256", CultureInfo.InvariantCulture),
        long.Parse(Environment.GetEnvironmentVariable("LTM_RSS_MB") ?? "1024", CultureInfo.InvariantCulture));

    private async Task RunAsync(int items, long storeMegabytes, long rssMegabytes)
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string>
            {
                ["Engine__StoreMemoryBytes"] = (storeMegabytes << 20).ToString(CultureInfo.InvariantCulture),
                ["LocalHost__ClockControl"] = "true",
            },
            StartTimeout = TimeSpan.FromMinutes(10),
        });
        using var client = host.CreateClient(c => c.Timeout = TimeSpan.FromMinutes(5));
        var table = NewName("ltm");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table, BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new("pk", KeyType.HASH), new("sk", KeyType.RANGE)],
            AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.N)],
        });
        await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest
        {
            TableName = table, PointInTimeRecoverySpecification = new PointInTimeRecoverySpecification { PointInTimeRecoveryEnabled = true },
        });

        var clock = Stopwatch.StartNew();
        await LoadAsync(client, table, items);
        Report($"loaded {items} items into a {storeMegabytes} MiB store in {clock.Elapsed.TotalSeconds:F1} s; {Memory(host)}");

        // GetItem: items written first (long since on disk) and last.
        var random = new Random(13);
        for (var n = 0; n < 200; n++)
        {
            var i = n < 50 ? n : n < 100 ? items - 1 - n : random.Next(items);
            var got = await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key(i) });
            Assert.True(got.IsItemSet, $"item {i} is missing");
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), got.Item["sk"].N);
            Assert.Equal(Payload, got.Item["d"].S);
        }

        // Query: a whole partition, in pages, in key order.
        foreach (var partition in new[] { 0, (items / PerPartition) / 2, (items / PerPartition) - 1 })
        {
            var sks = new List<int>();
            Dictionary<string, AttributeValue>? start = null;
            do
            {
                var page = await client.QueryAsync(new QueryRequest
                {
                    TableName = table, KeyConditionExpression = "pk = :p", Limit = 37, ExclusiveStartKey = start,
                    ExpressionAttributeValues = new() { [":p"] = new AttributeValue(Partition(partition)) },
                });
                sks.AddRange(page.Items.Select(item => int.Parse(item["sk"].N, CultureInfo.InvariantCulture)));
                start = page.LastEvaluatedKey is { Count: > 0 } ? page.LastEvaluatedKey : null;
            }
            while (start != null);
            Assert.Equal(Enumerable.Range(0, PerPartition).Select(k => (partition * PerPartition) + k), sks);
        }

        // Scan: counted over the whole table, and the first pages of items, each item once.
        clock.Restart();
        Assert.Equal(items, await CountAsync(client, table));
        Report($"full Scan (COUNT) in {clock.Elapsed.TotalSeconds:F1} s");
        var seen = new HashSet<string>();
        Dictionary<string, AttributeValue>? from = null;
        for (var p = 0; p < 5; p++)
        {
            var page = await client.ScanAsync(new ScanRequest { TableName = table, Limit = 500, ExclusiveStartKey = from });
            Assert.Equal(500, page.Items.Count);
            foreach (var item in page.Items) Assert.True(seen.Add(item["pk"].S + "/" + item["sk"].N));
            from = page.LastEvaluatedKey;
        }

        // Transactions over items on disk: a conditional write of ten, then a consistent read of them.
        var touched = Enumerable.Range(0, 10).Select(k => (k * 7919) % items).ToArray();
        await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems = [.. touched.Select(i => new TransactWriteItem
            {
                Update = new Update
                {
                    TableName = table, Key = Key(i), UpdateExpression = "ADD c :one", ConditionExpression = "attribute_exists(d)",
                    ExpressionAttributeValues = new() { [":one"] = new AttributeValue { N = "1" } },
                },
            })],
        });
        var read = await client.TransactGetItemsAsync(new TransactGetItemsRequest
        {
            TransactItems = [.. touched.Select(i => new TransactGetItem { Get = new Get { TableName = table, Key = Key(i) } })],
        });
        Assert.All(read.Responses, r => Assert.Equal("1", r.Item["c"].N));

        // A backup, and a restore from it.
        clock.Restart();
        var backup = (await client.CreateBackupAsync(new CreateBackupRequest { TableName = table, BackupName = "ltm" })).BackupDetails;
        var described = await client.DescribeBackupAsync(new DescribeBackupRequest { BackupArn = backup.BackupArn });
        Assert.Equal(items, described.BackupDescription.SourceTableDetails.ItemCount);
        Report($"CreateBackup in {clock.Elapsed.TotalSeconds:F1} s; {Memory(host)}");
        clock.Restart();
        var fromBackup = table + "-bak";
        await client.RestoreTableFromBackupAsync(new RestoreTableFromBackupRequest { BackupArn = backup.BackupArn, TargetTableName = fromBackup });
        await WaitRestoredAsync(client, fromBackup, items);
        Report($"RestoreTableFromBackup in {clock.Elapsed.TotalSeconds:F1} s; {Memory(host)}");
        Assert.Equal("1", (await client.GetItemAsync(new GetItemRequest { TableName = fromBackup, Key = Key(touched[3]) })).Item["c"].N);

        // A point-in-time restore, to a moment after the transaction.
        await host.AdvanceClockAsync(TimeSpan.FromSeconds(3));
        clock.Restart();
        var pitr = table + "-pitr";
        await client.RestoreTableToPointInTimeAsync(new RestoreTableToPointInTimeRequest
        {
            SourceTableName = table, TargetTableName = pitr, UseLatestRestorableTime = true,
        });
        await WaitRestoredAsync(client, pitr, items);
        Report($"RestoreTableToPointInTime in {clock.Elapsed.TotalSeconds:F1} s; {Memory(host)}");
        Assert.Equal("1", (await client.GetItemAsync(new GetItemRequest { TableName = pitr, Key = Key(touched[5]) })).Item["c"].N);

        // A checkpoint, then a restart from it.
        clock.Restart();
        using (var response = await host.SendAdminAsync(HttpMethod.Post, "/admin/functions/Checkpoint")) response.EnsureSuccessStatusCode();
        Report($"checkpoint in {clock.Elapsed.TotalSeconds:F1} s");
        var (rss, peak) = Rss(host);
        Report($"before restart: {Memory(host)}");
        Assert.True(peak <= rssMegabytes, $"peak RSS {peak} MiB is above {rssMegabytes} MiB");
        clock.Restart();
        await host.RestartAsync();
        Report($"restart in {clock.Elapsed.TotalSeconds:F1} s; {Memory(host)}");
        using var after = host.CreateClient(c => c.Timeout = TimeSpan.FromMinutes(5));
        Assert.Equal(Payload, (await after.GetItemAsync(new GetItemRequest { TableName = table, Key = Key(1) })).Item["d"].S);
        Assert.Equal("1", (await after.GetItemAsync(new GetItemRequest { TableName = table, Key = Key(touched[7]) })).Item["c"].N);
        Assert.Equal(items, await CountAsync(after, table));
        Assert.True(rss > 0);
    }

    internal static string Partition(int p) => "p" + p.ToString("D6", CultureInfo.InvariantCulture);

    internal static Dictionary<string, AttributeValue> Key(int i) => new()
    {
        ["pk"] = new AttributeValue(Partition(i / PerPartition)), ["sk"] = new AttributeValue { N = i.ToString(CultureInfo.InvariantCulture) },
    };

    /// <summary>BatchWriteItem of 25 items, many requests in flight, unprocessed items sent again.</summary>
    internal static async Task LoadAsync(IAmazonDynamoDB client, string table, int items)
    {
        var next = -1;
        async Task Worker()
        {
            while (true)
            {
                var batch = Interlocked.Increment(ref next);
                var first = batch * 25;
                if (first >= items) return;
                var writes = new List<WriteRequest>(25);
                for (var i = first; i < Math.Min(items, first + 25); i++)
                {
                    var item = Key(i);
                    item["d"] = new AttributeValue(Payload);
                    writes.Add(new WriteRequest(new PutRequest(item)));
                }

                var request = new Dictionary<string, List<WriteRequest>> { [table] = writes };
                while (request.Count > 0)
                {
                    var response = await client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = request });
                    request = response.UnprocessedItems is { Count: > 0 } unprocessed ? unprocessed : [];
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(Worker)));
    }

    internal static async Task<int> CountAsync(IAmazonDynamoDB client, string table)
    {
        var count = 0;
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await client.ScanAsync(new ScanRequest { TableName = table, Select = Select.COUNT, ExclusiveStartKey = start });
            count += page.Count ?? 0;
            start = page.LastEvaluatedKey is { Count: > 0 } ? page.LastEvaluatedKey : null;
        }
        while (start != null);
        return count;
    }

    private static async Task WaitRestoredAsync(IAmazonDynamoDB client, string table, int items)
    {
        var deadline = DateTime.UtcNow.AddHours(2);
        while ((await client.DescribeTableAsync(table)).Table.TableStatus != TableStatus.ACTIVE)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{table} was not restored in time");
            await Task.Delay(250);
        }

        Assert.Equal(items, await CountAsync(client, table));
    }

    /// <summary>The host's resident set now and at its peak (VmRSS, VmHWM), MiB.</summary>
    private static (long Rss, long Peak) Rss(HostProcess host)
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{host.ProcessId}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kib(line) / 1024;
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kib(line) / 1024;
        }

        return (rss, peak);

        static long Kib(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    private static string Memory(HostProcess host)
    {
        var (rss, peak) = Rss(host);
        return $"RSS {rss} MiB, peak {peak} MiB";
    }

    private void Report(string line) => output.WriteLine(line);
}
