using System.Collections.Concurrent;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Durability;

/// <summary>
/// Durability through a crash: the host is SIGKILLed while writers are in flight, restarted on the same data
/// directory, and every write that was acknowledged before the kill must be there.
/// </summary>
public sealed class KillTests
{
    private const string Table = "durable";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sigkill_DuringWrites_LosesNoAcknowledgedWrite(bool frequentCheckpoints)
    {
        // With tiny checkpoint thresholds the kill lands between checkpoints, so recovery exercises
        // checkpoint + log replay rather than replay from the start.
        var environment = frequentCheckpoints
            ? new Dictionary<string, string> { ["Engine__CheckpointLogBytes"] = "65536" }
            : new Dictionary<string, string>();
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment });
        using (var setup = host.CreateClient())
        {
            await setup.CreateTableAsync(new CreateTableRequest
            {
                TableName = Table,
                BillingMode = BillingMode.PAY_PER_REQUEST,
                KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
                AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            });
        }

        var acknowledgedPuts = new ConcurrentBag<string>();
        var acknowledgedIncrements = new int[4];
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
        {
            using var client = host.CreateClient(c => c.MaxErrorRetry = 0);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"w{writer}-{i}";
                try
                {
                    await client.PutItemAsync(new PutItemRequest
                    {
                        TableName = Table,
                        Item = new Dictionary<string, AttributeValue>
                        {
                            ["pk"] = new() { S = key },
                            ["payload"] = new() { S = new string('x', 100 + i % 300) },
                            ["n"] = new() { N = i.ToString() },
                        },
                    });
                    acknowledgedPuts.Add(key);
                    await client.UpdateItemAsync(new UpdateItemRequest
                    {
                        TableName = Table,
                        Key = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = $"counter{writer}" } },
                        UpdateExpression = "ADD hits :one",
                        ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":one"] = new() { N = "1" } },
                    });
                    acknowledgedIncrements[writer]++;
                }
                catch (Exception) when (stop.IsCancellationRequested || host.HasExited)
                {
                    return; // the kill cut this request off: it was never acknowledged
                }
                catch (HttpRequestException)
                {
                    return;
                }
                catch (AmazonServiceException)
                {
                    return;
                }
            }
        })).ToArray();

        // Let a good number of writes through, then kill with requests in flight.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (acknowledgedPuts.Count < 1500 && DateTime.UtcNow < deadline) await Task.Delay(50);
        await host.KillAsync();
        stop.Cancel();
        await Task.WhenAll(writers);
        Assert.True(acknowledgedPuts.Count >= 200, $"Too few writes were acknowledged before the kill: {acknowledgedPuts.Count}");

        await host.RestartAsync();
        using var reader = host.CreateClient();
        var missing = new List<string>();
        foreach (var key in acknowledgedPuts)
        {
            var got = await reader.GetItemAsync(new GetItemRequest
            {
                TableName = Table,
                Key = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = key } },
                ConsistentRead = true,
            });
            if (!got.IsItemSet) missing.Add(key);
        }

        Assert.Empty(missing);
        for (var writer = 0; writer < acknowledgedIncrements.Length; writer++)
        {
            if (acknowledgedIncrements[writer] == 0) continue;
            var counter = await reader.GetItemAsync(new GetItemRequest
            {
                TableName = Table,
                Key = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = $"counter{writer}" } },
                ConsistentRead = true,
            });
            var hits = int.Parse(counter.Item["hits"].N);
            // Every acknowledged increment survived; at most the one in flight at the kill may also have landed.
            Assert.InRange(hits, acknowledgedIncrements[writer], acknowledgedIncrements[writer] + 1);
        }

        // The recovered store keeps accepting writes, and they survive a graceful restart too.
        await reader.PutItemAsync(Table, new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "after" } });
        Assert.Equal(0, await host.StopAsync());
        await host.RestartAsync();
        using var again = host.CreateClient();
        var after = await again.GetItemAsync(Table, new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "after" } });
        Assert.True(after.IsItemSet);
        var table = await again.DescribeTableAsync(Table);
        Assert.True(table.Table.ItemCount >= acknowledgedPuts.Count + 1, $"ItemCount {table.Table.ItemCount} < {acknowledgedPuts.Count + 1}");
    }

    [Fact]
    public async Task Sigkill_AfterCreateAndDeleteTable_RecoversCatalog()
    {
        await using var host = await HostProcess.StartAsync();
        using (var client = host.CreateClient())
        {
            foreach (var name in new[] { "keep", "gone" })
            {
                await client.CreateTableAsync(new CreateTableRequest
                {
                    TableName = name,
                    ProvisionedThroughput = new ProvisionedThroughput(5, 7),
                    KeySchema = [new KeySchemaElement("id", KeyType.HASH), new KeySchemaElement("at", KeyType.RANGE)],
                    AttributeDefinitions = [new AttributeDefinition("id", ScalarAttributeType.S), new AttributeDefinition("at", ScalarAttributeType.N)],
                });
                await client.PutItemAsync(name, new Dictionary<string, AttributeValue> { ["id"] = new() { S = "a" }, ["at"] = new() { N = "1" } });
            }

            await client.DeleteTableAsync("gone");
            await client.UpdateTableAsync(new UpdateTableRequest { TableName = "keep", ProvisionedThroughput = new ProvisionedThroughput(9, 11) });
        }

        await host.KillAsync();
        await host.RestartAsync();
        using var after = host.CreateClient();
        var tables = await after.ListTablesAsync(new ListTablesRequest());
        Assert.Equal(["keep"], tables.TableNames);
        var keep = (await after.DescribeTableAsync("keep")).Table;
        Assert.Equal(9, keep.ProvisionedThroughput.ReadCapacityUnits);
        Assert.Equal(11, keep.ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal(1, keep.ItemCount);
        var item = await after.GetItemAsync("keep", new Dictionary<string, AttributeValue> { ["id"] = new() { S = "a" }, ["at"] = new() { N = "1" } });
        Assert.True(item.IsItemSet);

        // A table re-created under a dropped name starts empty: the old items do not resurface.
        await after.CreateTableAsync(new CreateTableRequest
        {
            TableName = "gone",
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("id", KeyType.HASH), new KeySchemaElement("at", KeyType.RANGE)],
            AttributeDefinitions = [new AttributeDefinition("id", ScalarAttributeType.S), new AttributeDefinition("at", ScalarAttributeType.N)],
        });
        var ghost = await after.GetItemAsync("gone", new Dictionary<string, AttributeValue> { ["id"] = new() { S = "a" }, ["at"] = new() { N = "1" } });
        Assert.False(ghost.IsItemSet);
    }
}
