using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Query;

/// <summary>The ordered key index is rebuilt at start-up from the recovered store (checkpoint plus log replay).</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Sigkill_ThenRestart_QueryAndScanSeeExactlyTheLiveItems()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["Engine__CheckpointLogBytes"] = "65536" },
        });
        string table;
        using (var client = host.CreateClient())
        {
            table = await CreateAsync(client, "rs", ScalarAttributeType.S, ScalarAttributeType.N);
            var dropped = await CreateAsync(client, "rsd", ScalarAttributeType.S, ScalarAttributeType.N);
            await Parallel.ForEachAsync(Enumerable.Range(0, 400), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            {
                await client.PutItemAsync(table, new() { ["pk"] = S("p" + (i % 4)), ["sk"] = N(i.ToString()), ["pad"] = S(new string('x', 200)) });
                await client.PutItemAsync(dropped, new() { ["pk"] = S("p"), ["sk"] = N(i.ToString()) });
            });
            for (var i = 0; i < 400; i += 10) await client.DeleteItemAsync(table, new() { ["pk"] = S("p" + (i % 4)), ["sk"] = N(i.ToString()) });
            await client.DeleteTableAsync(dropped);
        }

        await host.KillAsync();
        await host.RestartAsync();
        using var after = host.CreateClient();
        var expected = Enumerable.Range(0, 400).Where(i => i % 4 == 1 && i % 10 != 0).Select(i => i.ToString()).ToList();
        var request = new QueryRequest
        {
            TableName = table, KeyConditionExpression = "pk = :p", ExpressionAttributeValues = new() { [":p"] = S("p1") }, Limit = 17,
        };
        var got = new List<string>();
        do
        {
            var page = await after.QueryAsync(request);
            got.AddRange(page.Items.Select(i => i["sk"].N));
            request.ExclusiveStartKey = page.LastEvaluatedKey;
        }
        while (request.ExclusiveStartKey is { Count: > 0 });
        Assert.Equal(expected, got);

        var count = await after.ScanAsync(new ScanRequest { TableName = table, Select = Select.COUNT });
        Assert.Equal(360, count.Count);
    }

    [Fact]
    public async Task Sigkill_AfterIndexAdded_ThenRestart_IndexesRebuiltAndActive()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["Engine__CheckpointLogBytes"] = "65536", ["Engine__ItemCollectionSizeLimitBytes"] = "4096" },
        });
        var table = NewName("ri");
        using (var client = host.CreateClient())
        {
            await client.CreateTableAsync(new CreateTableRequest
            {
                TableName = table, BillingMode = BillingMode.PAY_PER_REQUEST,
                KeySchema = [new("pk", KeyType.HASH), new("sk", KeyType.RANGE)],
                AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.N), new("alt", ScalarAttributeType.N)],
                LocalSecondaryIndexes = [new() { IndexName = "by-alt", KeySchema = [new("pk", KeyType.HASH), new("alt", KeyType.RANGE)], Projection = new() { ProjectionType = ProjectionType.ALL } }],
            });
            await Parallel.ForEachAsync(Enumerable.Range(0, 3000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
                await client.PutItemAsync(table, new() { ["pk"] = S("p" + (i % 1000)), ["sk"] = N(i.ToString()), ["alt"] = N((-i).ToString()), ["g"] = S("g" + (i % 7)) }));

            // The collection limit (4 KB here) counts items and their local index entries: a big item no longer fits.
            var e = await Assert.ThrowsAsync<ItemCollectionSizeLimitExceededException>(() =>
                client.PutItemAsync(table, new() { ["pk"] = S("p1"), ["sk"] = N("-1"), ["alt"] = N("0"), ["pad"] = S(new string('x', 3000)) }));
            Assert.NotNull(e.Message);

            // Inside a transaction the same write cancels it with the ItemCollectionSizeLimitExceeded reason.
            var cancelled = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
            {
                TransactItems =
                [
                    new() { Put = new Put { TableName = table, Item = new() { ["pk"] = S("p2"), ["sk"] = N("-1"), ["alt"] = N("0") } } },
                    new() { Put = new Put { TableName = table, Item = new() { ["pk"] = S("p1"), ["sk"] = N("-1"), ["alt"] = N("0"), ["pad"] = S(new string('x', 3000)) } } },
                ],
            }));
            Assert.Equal(["None", "ItemCollectionSizeLimitExceeded"], cancelled.CancellationReasons.Select(r => r.Code));
            await client.UpdateTableAsync(new UpdateTableRequest
            {
                TableName = table, AttributeDefinitions = [new("g", ScalarAttributeType.S)],
                GlobalSecondaryIndexUpdates = [new() { Create = new() { IndexName = "by-g", KeySchema = [new("g", KeyType.HASH)], Projection = new() { ProjectionType = ProjectionType.KEYS_ONLY } } }],
            });
        }

        await host.KillAsync();
        await host.RestartAsync();
        using var after = host.CreateClient();
        var description = (await after.DescribeTableAsync(table)).Table;
        Assert.Equal(IndexStatus.ACTIVE, description.GlobalSecondaryIndexes.Single().IndexStatus);
        Assert.Equal(3000, description.LocalSecondaryIndexes.Single().ItemCount);
        var byAlt = await after.QueryAsync(new QueryRequest
        {
            TableName = table, IndexName = "by-alt", KeyConditionExpression = "pk = :p", ExpressionAttributeValues = new() { [":p"] = S("p5") },
        });
        Assert.Equal(["-2005", "-1005", "-5"], byAlt.Items.Select(i => i["alt"].N));
        var byG = await after.ScanAsync(new ScanRequest { TableName = table, IndexName = "by-g", Select = Select.COUNT });
        Assert.Equal(3000, byG.Count);
    }
}
