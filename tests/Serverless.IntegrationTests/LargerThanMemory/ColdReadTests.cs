using System.Collections.Concurrent;
using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.LargerThanMemory.LargerThanMemoryTests;

namespace Serverless.IntegrationTests.LargerThanMemory;

/// <summary>
/// Query, Scan, BatchGetItem and TransactGetItems over a table several times larger than the store's memory
/// (<c>Engine__StoreMemoryBytes</c> = 16 MiB), many at once, while writers update items all over the table: their reads
/// of items on disk complete asynchronously (FasterStore.StoreReader), and every answer is complete and correct.
/// </summary>
public sealed class ColdReadTests
{
    private const int Items = 120_000;

    [Fact]
    public async Task QueryScanAndBatchGet_OverItemsOnDisk_WhileWritesRun_AnswerCorrectly()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["Engine__StoreMemoryBytes"] = (16L << 20).ToString(CultureInfo.InvariantCulture) },
            StartTimeout = TimeSpan.FromMinutes(5),
        });
        using var client = host.CreateClient(c => c.Timeout = TimeSpan.FromMinutes(5));
        var table = NewName("cold");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table, BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new("pk", KeyType.HASH), new("sk", KeyType.RANGE)],
            AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.N)],
        });
        await LoadAsync(client, table, Items);

        // Writers: ADD w 1 to random items everywhere (which brings them back into memory, and evicts others), never
        // adding or removing one, so the table's contents stay exactly known but for each item's w.
        using var stop = new CancellationTokenSource();
        var updates = 0;
        var writers = Enumerable.Range(0, 4).Select(seed => Task.Run(async () =>
        {
            var random = new Random(seed);
            while (!stop.IsCancellationRequested)
            {
                await client.UpdateItemAsync(new UpdateItemRequest
                {
                    TableName = table, Key = Key(random.Next(Items)), UpdateExpression = "ADD w :one",
                    ExpressionAttributeValues = new() { [":one"] = new AttributeValue { N = "1" } },
                });
                Interlocked.Increment(ref updates);
            }
        })).ToArray();

        var problems = new ConcurrentQueue<string>();
        try
        {
            var partitions = Items / PerPartition;
            var readers = new List<Task>();

            // Queries of whole partitions, in pages of 50 and of one page, forward and backward.
            readers.Add(Task.Run(async () =>
            {
                for (var n = 0; n < 24; n++)
                {
                    var partition = (n * 131) % partitions;
                    var forward = n % 2 == 0;
                    var sks = await QueryPartitionAsync(client, table, partition, forward, n % 3 == 0 ? null : 50, problems);
                    var expected = Enumerable.Range(partition * PerPartition, PerPartition).ToList();
                    if (!forward) expected.Reverse();
                    if (!sks.SequenceEqual(expected)) problems.Enqueue($"Query of partition {partition} ({(forward ? "forward" : "backward")}) read {sks.Count} items, not the {PerPartition} in order");
                }
            }));

            // A parallel Scan of the whole table, four segments, counting each item once.
            readers.Add(Task.Run(async () =>
            {
                var seen = new ConcurrentDictionary<int, byte>();
                await Task.WhenAll(Enumerable.Range(0, 4).Select(segment => Task.Run(async () =>
                {
                    Dictionary<string, AttributeValue>? start = null;
                    do
                    {
                        var page = await client.ScanAsync(new ScanRequest { TableName = table, Segment = segment, TotalSegments = 4, ExclusiveStartKey = start });
                        foreach (var item in page.Items)
                        {
                            Check(item, problems);
                            if (!seen.TryAdd(int.Parse(item["sk"].N, CultureInfo.InvariantCulture), 0)) problems.Enqueue($"Scan returned {item["sk"].N} twice");
                        }

                        start = page.LastEvaluatedKey is { Count: > 0 } ? page.LastEvaluatedKey : null;
                    }
                    while (start != null);
                })));
                if (seen.Count != Items) problems.Enqueue($"Scan read {seen.Count} items of {Items}");
            }));

            // BatchGetItem of 100 random keys, unprocessed keys sent again; and TransactGetItems of 25.
            readers.Add(Task.Run(async () =>
            {
                var random = new Random(99);
                for (var n = 0; n < 30; n++)
                {
                    var wanted = Enumerable.Range(0, 100).Select(_ => random.Next(Items)).Distinct().ToList();
                    var got = new List<Dictionary<string, AttributeValue>>();
                    var request = new Dictionary<string, KeysAndAttributes> { [table] = new() { Keys = [.. wanted.Select(Key)] } };
                    while (request.Count > 0)
                    {
                        var response = await client.BatchGetItemAsync(new BatchGetItemRequest { RequestItems = request });
                        got.AddRange(response.Responses[table]);
                        request = response.UnprocessedKeys is { Count: > 0 } unprocessed ? unprocessed : [];
                    }

                    foreach (var item in got) Check(item, problems);
                    var read = got.Select(i => int.Parse(i["sk"].N, CultureInfo.InvariantCulture)).Order().ToList();
                    if (!read.SequenceEqual(wanted.Order())) problems.Enqueue($"BatchGetItem returned {read.Count} of {wanted.Count} items");

                    var transactional = wanted.Take(25).ToList();
                    var tx = await client.TransactGetItemsAsync(new TransactGetItemsRequest
                    {
                        TransactItems = [.. transactional.Select(i => new TransactGetItem { Get = new Get { TableName = table, Key = Key(i) } })],
                    });
                    for (var i = 0; i < transactional.Count; i++)
                    {
                        var item = tx.Responses[i].Item;
                        if (item is not { Count: > 0 } || item["sk"].N != transactional[i].ToString(CultureInfo.InvariantCulture)) problems.Enqueue($"TransactGetItems missed {transactional[i]}");
                        else Check(item, problems);
                    }
                }
            }));

            await Task.WhenAll(readers);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        Assert.True(problems.IsEmpty, string.Join("\n", problems.Take(20)));
        Assert.True(updates > 0, "no write ran during the reads");
        Assert.Equal(Items, await CountAsync(client, table));
    }

    private static async Task<List<int>> QueryPartitionAsync(IAmazonDynamoDB client, string table, int partition, bool forward, int? limit, ConcurrentQueue<string> problems)
    {
        var sks = new List<int>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await client.QueryAsync(new QueryRequest
            {
                TableName = table, KeyConditionExpression = "pk = :p", Limit = limit, ExclusiveStartKey = start, ScanIndexForward = forward,
                ExpressionAttributeValues = new() { [":p"] = new AttributeValue(Partition(partition)) },
            });
            foreach (var item in page.Items) Check(item, problems);
            sks.AddRange(page.Items.Select(item => int.Parse(item["sk"].N, CultureInfo.InvariantCulture)));
            start = page.LastEvaluatedKey is { Count: > 0 } ? page.LastEvaluatedKey : null;
        }
        while (start != null);
        return sks;
    }

    /// <summary>An item as loaded: its partition matches its sort key, its payload is whole, and w (if any) a count.</summary>
    private static void Check(Dictionary<string, AttributeValue> item, ConcurrentQueue<string> problems)
    {
        var i = int.Parse(item["sk"].N, CultureInfo.InvariantCulture);
        if (item["pk"].S != Partition(i / PerPartition)) problems.Enqueue($"item {i} has partition {item["pk"].S}");
        if (!item.TryGetValue("d", out var d) || d.S != Payload) problems.Enqueue($"item {i} lost its payload");
        if (item.TryGetValue("w", out var w) && int.Parse(w.N, CultureInfo.InvariantCulture) < 1) problems.Enqueue($"item {i} has w {w.N}");
    }
}
