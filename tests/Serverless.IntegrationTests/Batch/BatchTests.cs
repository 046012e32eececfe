using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Batch;

/// <summary>BatchGetItem and BatchWriteItem through the AWS SDK.</summary>
[Collection(SharedHostCollection.Name)]
public class BatchTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [Fact]
    public async Task BatchWrite_PutsAndDeletesAcrossTables_ThenBatchGetReadsThem()
    {
        using var client = _host.CreateClient();
        var a = await CreateTableAsync(client);
        var b = await CreateTableAsync(client);
        await client.PutItemAsync(b, Item("doomed", 0));

        var write = await client.BatchWriteItemAsync(new BatchWriteItemRequest
        {
            RequestItems = new Dictionary<string, List<WriteRequest>>
            {
                [a] = Enumerable.Range(0, 20).Select(i => new WriteRequest(new PutRequest(Item($"k{i}", i)))).ToList(),
                [b] = [
                    new WriteRequest(new PutRequest(Item("x", 1))),
                    new WriteRequest(new PutRequest(Item("y", 2))),
                    new WriteRequest(new DeleteRequest(Key("doomed"))),
                ],
            },
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        });
        Assert.Empty(write.UnprocessedItems);
        Assert.Equal(2, write.ConsumedCapacity.Count);
        Assert.Equal(20, write.ConsumedCapacity.Single(c => c.TableName == a).CapacityUnits);
        Assert.Equal(3, write.ConsumedCapacity.Single(c => c.TableName == b).CapacityUnits);

        var get = await client.BatchGetItemAsync(new BatchGetItemRequest
        {
            RequestItems = new Dictionary<string, KeysAndAttributes>
            {
                [a] = new() { Keys = Enumerable.Range(0, 20).Select(i => Key($"k{i}")).ToList(), ProjectionExpression = "pk, #n", ExpressionAttributeNames = new() { ["#n"] = "n" } },
                [b] = new() { Keys = [Key("x"), Key("y"), Key("doomed")], ConsistentRead = true },
            },
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        });
        Assert.Empty(get.UnprocessedKeys);
        Assert.Equal(20, get.Responses[a].Count);
        Assert.All(get.Responses[a], item => Assert.Equal(["n", "pk"], item.Keys.Order()));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i.ToString()), get.Responses[a].Select(i => i["n"].N).OrderBy(int.Parse));
        Assert.Equal(["x", "y"], get.Responses[b].Select(i => i["pk"].S).Order());
        Assert.Equal(10, get.ConsumedCapacity.Single(c => c.TableName == a).CapacityUnits); // 20 eventually consistent reads
        Assert.Equal(3, get.ConsumedCapacity.Single(c => c.TableName == b).CapacityUnits); // 3 strong reads, one of a missing item
    }

    [Fact]
    public async Task BatchWrite_RejectsDuplicateKeys_TooManyRequests_AndUnknownTables()
    {
        using var client = _host.CreateClient();
        var t = await CreateTableAsync(client);
        var dup = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.BatchWriteItemAsync(new BatchWriteItemRequest
        {
            RequestItems = new() { [t] = [new WriteRequest(new PutRequest(Item("a", 1))), new WriteRequest(new DeleteRequest(Key("a")))] },
        }));
        Assert.Equal("ValidationException", dup.ErrorCode);
        Assert.Equal("Provided list of item keys contains duplicates", dup.Message);

        var many = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.BatchWriteItemAsync(new BatchWriteItemRequest
        {
            RequestItems = new() { [t] = Enumerable.Range(0, 26).Select(i => new WriteRequest(new PutRequest(Item($"m{i}", i)))).ToList() },
        }));
        Assert.Equal("ValidationException", many.ErrorCode);
        Assert.Contains("Member must have length less than or equal to 25", many.Message);

        var missing = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.BatchWriteItemAsync(new BatchWriteItemRequest
        {
            RequestItems = new() { ["no_such_table"] = [new WriteRequest(new PutRequest(Item("a", 1)))] },
        }));
        Assert.Equal("Requested resource not found", missing.Message);

        // Nothing of a rejected batch was applied.
        var got = await client.GetItemAsync(t, Key("a"));
        Assert.False(got.IsItemSet);
    }

    [Fact]
    public async Task BatchGet_RejectsDuplicateKeys_AndMoreThan100Keys()
    {
        using var client = _host.CreateClient();
        var t = await CreateTableAsync(client);
        var dup = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.BatchGetItemAsync(new BatchGetItemRequest
        {
            RequestItems = new() { [t] = new KeysAndAttributes { Keys = [Key("a"), Key("a")] } },
        }));
        Assert.Equal("Provided list of item keys contains duplicates", dup.Message);

        var many = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.BatchGetItemAsync(new BatchGetItemRequest
        {
            RequestItems = new() { [t] = new KeysAndAttributes { Keys = Enumerable.Range(0, 101).Select(i => Key($"k{i}")).ToList() } },
        }));
        Assert.Equal("ValidationException", many.ErrorCode);
        Assert.Equal("Too many items requested for the BatchGetItem call", many.Message);
    }

    [Fact]
    public async Task BatchGet_PastSixteenMegabytes_ReturnsTheRestAsUnprocessedKeys()
    {
        using var client = _host.CreateClient(c => c.Timeout = TimeSpan.FromSeconds(60));
        var t = await CreateTableAsync(client);
        var big = new string('z', 390 * 1024);
        for (var start = 0; start < 60; start += 20)
        {
            await Task.WhenAll(Enumerable.Range(start, 20).Select(i => client.PutItemAsync(t, new Dictionary<string, AttributeValue>
            {
                ["pk"] = new() { S = $"big{i}" },
                ["blob"] = new() { S = big },
            })));
        }

        var keys = Enumerable.Range(0, 60).Select(i => Key($"big{i}")).ToList();
        var response = await client.BatchGetItemAsync(new BatchGetItemRequest
        {
            RequestItems = new() { [t] = new KeysAndAttributes { Keys = keys, ConsistentRead = true } },
        });
        var returned = response.Responses[t].Count;
        var unprocessed = response.UnprocessedKeys[t];
        Assert.InRange(returned, 40, 45); // ~16 MB of 390 KB items
        Assert.Equal(60, returned + unprocessed.Keys.Count);
        Assert.True(unprocessed.ConsistentRead);

        // The unprocessed keys can be resent as they are, and complete the read.
        var rest = await client.BatchGetItemAsync(new BatchGetItemRequest { RequestItems = response.UnprocessedKeys });
        Assert.Equal(unprocessed.Keys.Count, rest.Responses[t].Count);
        Assert.Empty(rest.UnprocessedKeys);
    }

    private static async Task<string> CreateTableAsync(IAmazonDynamoDB client)
    {
        var name = "batch_" + Guid.NewGuid().ToString("N")[..10];
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
        });
        return name;
    }

    private static Dictionary<string, AttributeValue> Key(string pk) => new() { ["pk"] = new() { S = pk } };

    private static Dictionary<string, AttributeValue> Item(string pk, int n) => new()
    {
        ["pk"] = new() { S = pk },
        ["n"] = new() { N = n.ToString() },
        ["other"] = new() { S = "not projected" },
    };
}
