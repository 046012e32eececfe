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
}
