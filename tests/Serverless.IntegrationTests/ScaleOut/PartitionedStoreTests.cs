using System.Globalization;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.ScaleOut;

/// <summary>
/// A store split into partitions (<c>Engine__Partitions=4</c>) answers like one without (P = 1): the same scenario runs
/// through AWSSDK.DynamoDBv2 against both hosts and every answer is compared, including Scan pages and their
/// LastEvaluatedKeys (partitions are hash ranges, so the order is the same), parallel Scan segments, Query on the
/// table and a local index, batches split across partitions, conditional writes and their errors. Then the
/// partitioned store survives a SIGKILL, and refuses to open with another P.
/// </summary>
public sealed class PartitionedStoreTests
{
    private const string Table = "orders";

    /// <summary>A host whose store is split in four, with <paramref name="more"/> environment variables.</summary>
    internal static HostProcessOptions FourPartitions(params (string Name, string Value)[] more)
    {
        var environment = new Dictionary<string, string> { ["Engine__Partitions"] = "4" };
        foreach (var (name, value) in more) environment[name] = value;
        return new HostProcessOptions { Environment = environment };
    }

    /// <summary>Runs <paramref name="scenario"/> against both hosts and compares every answer, in order.</summary>
    internal static async Task AssertSameAnswersAsync(AmazonDynamoDBClient one, AmazonDynamoDBClient four, Func<AmazonDynamoDBClient, Task<List<string>>> scenario)
    {
        var expected = await scenario(one);
        var actual = await scenario(four);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i]);
    }

    [Fact]
    public async Task FourPartitions_AnswerEveryOperationLikeOne_SurviveAKill_AndKeepTheirCount()
    {
        await using var single = await HostProcess.StartAsync();
        await using var partitioned = await HostProcess.StartAsync(FourPartitions());
        try
        {
            using var one = single.CreateClient();
            using var four = partitioned.CreateClient();
            await AssertSameAnswersAsync(one, four, RunScenarioAsync);

            // Every partition holds part of the table: the layout is one store per partition.
            for (var k = 0; k < 4; k++) Assert.True(Directory.Exists(Path.Combine(partitioned.DataDirectory, $"p{k}")), $"p{k} missing");
            Assert.Equal("{\"Version\":1,\"Partitions\":4}", File.ReadAllText(Path.Combine(partitioned.DataDirectory, "partitions.json")));

            // Transactions within one partition and across partitions both run (CrossPartitionTransactionTests covers 2PC).
            for (var i = 0; i < 16; i++)
            {
                await four.TransactWriteItemsAsync(new TransactWriteItemsRequest
                {
                    TransactItems =
                    [
                        new TransactWriteItem { Put = new Put { TableName = Table, Item = Item("user3", 1000 + i, "a") } },
                        new TransactWriteItem { Put = new Put { TableName = Table, Item = Item("k" + i, 1, "b") } },
                    ],
                });
            }

            // SIGKILL: every acknowledged write is back after recovery of each partition.
            var before = await ScanAllAsync(four, null);
            await partitioned.KillAsync();
            await partitioned.RestartAsync();
            using var again = partitioned.CreateClient();
            Assert.Equal(before, await ScanAllAsync(again, null));

            // P is fixed when the store is created.
            await partitioned.StopAsync();
            var refused = await HostProcess.RunToExitAsync(["--data-dir", partitioned.DataDirectory, "--port", "0"], TimeSpan.FromSeconds(60),
                new Dictionary<string, string> { ["Engine__Partitions"] = "2" });
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("created with 4 partitions", refused.StandardOutput + refused.StandardError);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(e.Message + "\n--- P=1 ---\n" + single.Output + "\n--- P=4 ---\n" + partitioned.Output, e);
        }
    }

    [Fact]
    public async Task BlobStorage_EachPartitionInItsOwnContainer_AFreshInstanceRecoversThemAll_AndPIsRecordedInTheAccount()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var storage = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Engine__Blob__Container"] = "parts",
            ["Engine__Blob__LeaseSeconds"] = "15",
            ["Engine__Partitions"] = "3",
        };
        string expected;
        await using (var first = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage }))
        {
            try
            {
                using var client = first.CreateClient();
                try
                {
                    await client.CreateTableAsync(new CreateTableRequest
                    {
                        TableName = Table, BillingMode = BillingMode.PAY_PER_REQUEST,
                        AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S), new AttributeDefinition("sk", ScalarAttributeType.N)],
                        KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
                    });
                }
                catch (ResourceInUseException)
                {
                    // On a loaded machine a blob append can time out (2 s) after a partition logged the table: the
                    // SDK's retry then finds it. The puts below fail if any partition lacks it.
                }

                for (var i = 0; i < 60; i++) await client.PutItemAsync(Table, Item("user" + i, i, "open"));
                expected = await ScanAllAsync(client, 7);
                Assert.Equal(0, await first.StopAsync());
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                throw new InvalidOperationException(e.Message + "\n" + first.Output, e);
            }
        }

        // A fresh instance (empty data directory) rebuilds every partition from its container.
        await using (var fresh = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage }))
        {
            using var client = fresh.CreateClient();
            Assert.Equal(expected, await ScanAllAsync(client, 7));
            Assert.Equal(0, await fresh.StopAsync());
        }

        // Another P against the same account is refused, whatever the data directory says.
        var other = new Dictionary<string, string>(storage) { ["Engine__Partitions"] = "2" };
        var refused = await HostProcess.RunToExitAsync(["--port", "0", "--data-dir", Path.Combine(Path.GetTempPath(), "parts-" + Guid.NewGuid().ToString("N"))],
            TimeSpan.FromSeconds(90), other);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("container 'parts' was created with 3 partitions", refused.StandardOutput + refused.StandardError);
    }

    /// <summary>Runs the scenario and returns every answer as text, in order, for comparison.</summary>
    internal static async Task<List<string>> RunScenarioAsync(AmazonDynamoDBClient client)
    {
        var log = new List<string>();
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = Table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions =
            [
                new AttributeDefinition("pk", ScalarAttributeType.S), new AttributeDefinition("sk", ScalarAttributeType.N),
                new AttributeDefinition("status", ScalarAttributeType.S),
            ],
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
            LocalSecondaryIndexes =
            [
                new LocalSecondaryIndex
                {
                    IndexName = "byStatus", Projection = new Projection { ProjectionType = ProjectionType.ALL },
                    KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("status", KeyType.RANGE)],
                },
            ],
        });
        var described = await client.DescribeTableAsync(Table);
        log.Add("describe " + described.Table.TableStatus + " " + string.Join(",", described.Table.KeySchema.Select(k => k.AttributeName + ":" + k.KeyType)));

        for (var i = 0; i < 120; i++) await client.PutItemAsync(Table, Item("user" + (i % 40), i, i % 3 == 0 ? "open" : "closed"));

        // The table's statistics are the sum over its partitions.
        var counted0 = (await client.DescribeTableAsync(Table)).Table;
        log.Add($"describe counts {counted0.ItemCount} {counted0.TableSizeBytes} {string.Join(",", counted0.LocalSecondaryIndexes.Select(i => i.IndexName + ":" + i.ItemCount + ":" + i.IndexSizeBytes))}");
        Assert.Equal(120, counted0.ItemCount);

        // Items: reads, conditional writes and their refusals.
        foreach (var i in new[] { 0, 7, 41, 119, 500 })
        {
            var got = await client.GetItemAsync(new GetItemRequest { TableName = Table, Key = Key("user" + (i % 40), i), ConsistentRead = true });
            log.Add($"get {i} {Show(got.Item)}");
        }

        var updated = await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = Table, Key = Key("user5", 5), UpdateExpression = "SET qty = :q", ConditionExpression = "attribute_exists(pk)",
            ExpressionAttributeValues = new() { [":q"] = new AttributeValue { N = "12" } }, ReturnValues = ReturnValue.ALL_NEW,
        });
        log.Add("update " + Show(updated.Attributes));
        var failed = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.PutItemAsync(new PutItemRequest
        {
            TableName = Table, Item = Item("user6", 6, "x"), ConditionExpression = "attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        }));
        log.Add("condition " + failed.ErrorCode + " " + failed.Message + " " + Show(failed.Item));
        // A table named by its ARN routes like one named by its name.
        var byArn = await client.GetItemAsync(new GetItemRequest { TableName = described.Table.TableArn, Key = Key("user7", 7), ConsistentRead = true });
        log.Add("get by arn " + Show(byArn.Item));
        var deleted = await client.DeleteItemAsync(new DeleteItemRequest { TableName = Table, Key = Key("user9", 9), ReturnValues = ReturnValue.ALL_OLD });
        log.Add("delete " + Show(deleted.Attributes));
        var invalid = await Assert.ThrowsAnyAsync<AmazonDynamoDBException>(() => client.GetItemAsync(Table, new Dictionary<string, AttributeValue> { ["pk"] = new("x") }));
        log.Add("invalid " + invalid.ErrorCode + " " + invalid.Message);

        // Query on the table and on the local index, paged.
        foreach (var forward in new[] { true, false })
        {
            var pages = await QueryPagesAsync(client, new QueryRequest
            {
                TableName = Table, KeyConditionExpression = "pk = :p AND sk > :s", Limit = 1, ScanIndexForward = forward,
                ExpressionAttributeValues = new() { [":p"] = new AttributeValue("user4"), [":s"] = new AttributeValue { N = "10" } },
            });
            log.Add($"query forward={forward} {pages}");
        }

        log.Add("query lsi " + await QueryPagesAsync(client, new QueryRequest
        {
            TableName = Table, IndexName = "byStatus", KeyConditions = new()
            {
                ["pk"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [new AttributeValue("user12")] },
                ["status"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [new AttributeValue("open")] },
            },
        }));

        // Scan: pages in the same order with the same LastEvaluatedKeys; COUNT; a filter; parallel segments.
        log.Add("scan limit 17 " + await ScanAllAsync(client, 17));
        log.Add("scan limit 1000 " + await ScanAllAsync(client, null));
        var counted = await client.ScanAsync(new ScanRequest { TableName = Table, Select = Select.COUNT });
        log.Add($"scan count {counted.Count} {counted.ScannedCount} {counted.LastEvaluatedKey?.Count ?? 0}");
        var filtered = await client.ScanAsync(new ScanRequest
        {
            TableName = Table, FilterExpression = "#s = :o", Limit = 30, ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
            ExpressionAttributeNames = new() { ["#s"] = "status" }, ExpressionAttributeValues = new() { [":o"] = new AttributeValue("open") },
        });
        log.Add($"scan filter {filtered.Count} {filtered.ScannedCount} {Show(filtered.LastEvaluatedKey)} {string.Join(";", filtered.Items.Select(Show))}");
        // Read units are rounded up per partition's page, so a page across partitions may count up to half a unit more per partition.
        Assert.True(filtered.ConsumedCapacity.CapacityUnits > 0);
        foreach (var total in new[] { 1, 3, 7 })
        {
            for (var segment = 0; segment < total; segment++)
                log.Add($"segment {segment}/{total} " + await ScanAllAsync(client, 5, segment, total));
        }

        // Batches across partitions: answers compared as sets, since BatchGetItem's order is unspecified.
        var keys = Enumerable.Range(0, 60).Select(i => Key("user" + (i % 40), i)).ToList();
        keys.Add(Key("nobody", 1));
        var batch = await client.BatchGetItemAsync(new BatchGetItemRequest
        {
            RequestItems = new() { [Table] = new KeysAndAttributes { Keys = keys, ProjectionExpression = "pk, sk, #s", ExpressionAttributeNames = new() { ["#s"] = "status" } } },
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        });
        log.Add($"batch get {string.Join(";", batch.Responses[Table].Select(Show).Order(StringComparer.Ordinal))} unprocessed={batch.UnprocessedKeys.Count} capacity={batch.ConsumedCapacity.Sum(c => c.CapacityUnits ?? 0).ToString(CultureInfo.InvariantCulture)}");
        var writes = Enumerable.Range(200, 20).Select(i => new WriteRequest { PutRequest = new PutRequest { Item = Item("batch" + i, i, "new") } })
            .Concat(Enumerable.Range(0, 5).Select(i => new WriteRequest { DeleteRequest = new DeleteRequest { Key = Key("user" + i, i) } })).ToList();
        var written = await client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = new() { [Table] = writes }, ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL });
        log.Add($"batch write unprocessed={written.UnprocessedItems.Count} capacity={written.ConsumedCapacity.Sum(c => c.CapacityUnits ?? 0).ToString(CultureInfo.InvariantCulture)}");
        var duplicate = await Assert.ThrowsAnyAsync<AmazonDynamoDBException>(() => client.BatchWriteItemAsync(new BatchWriteItemRequest
        {
            RequestItems = new()
            {
                [Table] = [new WriteRequest { PutRequest = new PutRequest { Item = Item("dup", 1, "a") } }, new WriteRequest { PutRequest = new PutRequest { Item = Item("other", 1, "a") } },
                    new WriteRequest { DeleteRequest = new DeleteRequest { Key = Key("dup", 1) } }],
            },
        }));
        log.Add("batch duplicate " + duplicate.ErrorCode + " " + duplicate.Message);
        log.Add("after batches " + await ScanAllAsync(client, null));

        // PartiQL goes through the same routes.
        var statement = await client.ExecuteStatementAsync(new ExecuteStatementRequest { Statement = $"SELECT * FROM \"{Table}\" WHERE pk = 'user21' AND sk = 21" });
        log.Add("partiql " + string.Join(";", statement.Items.Select(Show)));

        // The catalog is on every partition: a dropped table is gone everywhere.
        await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = Table, TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = "ttl", Enabled = true } });
        log.Add("ttl " + (await client.DescribeTimeToLiveAsync(Table)).TimeToLiveDescription.TimeToLiveStatus);
        return log;
    }

    private static async Task<string> QueryPagesAsync(AmazonDynamoDBClient client, QueryRequest request)
    {
        var text = new StringBuilder();
        do
        {
            var page = await client.QueryAsync(request);
            text.Append('[').AppendJoin(";", page.Items.Select(Show)).Append("] next=").Append(Show(page.LastEvaluatedKey)).Append(' ');
            request.ExclusiveStartKey = page.LastEvaluatedKey;
        }
        while (request.ExclusiveStartKey is { Count: > 0 });
        return text.ToString();
    }

    private static async Task<string> ScanAllAsync(AmazonDynamoDBClient client, int? limit, int? segment = null, int? total = null)
    {
        var text = new StringBuilder();
        var request = new ScanRequest { TableName = Table, Limit = limit, Segment = segment, TotalSegments = total };
        do
        {
            var page = await client.ScanAsync(request);
            text.Append('[').Append(page.Count).Append('/').Append(page.ScannedCount).Append(' ').AppendJoin(";", page.Items.Select(Show))
                .Append("] next=").Append(Show(page.LastEvaluatedKey)).Append(' ');
            request.ExclusiveStartKey = page.LastEvaluatedKey;
        }
        while (request.ExclusiveStartKey is { Count: > 0 });
        return text.ToString();
    }

    private static Dictionary<string, AttributeValue> Key(string pk, int sk) => new() { ["pk"] = new AttributeValue(pk), ["sk"] = new AttributeValue { N = sk.ToString(CultureInfo.InvariantCulture) } };

    private static Dictionary<string, AttributeValue> Item(string pk, int sk, string status)
    {
        var item = Key(pk, sk);
        item["status"] = new AttributeValue(status);
        item["payload"] = new AttributeValue(new string('x', sk % 7 * 10));
        return item;
    }

    /// <summary>An item (or key) as sorted name=type:value text.</summary>
    private static string Show(Dictionary<string, AttributeValue>? item) =>
        item is not { Count: > 0 } ? "-" : "{" + string.Join(",", item.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + (a.Value.S != null ? "S:" + a.Value.S : a.Value.N != null ? "N:" + a.Value.N : "?"))) + "}";
}
