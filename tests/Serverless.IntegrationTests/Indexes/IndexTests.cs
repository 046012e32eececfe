using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.DataModel;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.Infrastructure.ApiAssert;

namespace Serverless.IntegrationTests.Indexes;

/// <summary>Local and global secondary indexes through the low-level client and DynamoDBContext.</summary>
[Collection(SharedHostCollection.Name)]
public class IndexTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    private static KeySchemaElement Hash(string name) => new(name, KeyType.HASH);

    private static KeySchemaElement Range(string name) => new(name, KeyType.RANGE);

    /// <summary>pk S, sk N; LSI "by-date" on date (S, KEYS_ONLY) and "by-score" on score (N, INCLUDE title).</summary>
    private static async Task<string> CreateLsiTableAsync(IAmazonDynamoDB client)
    {
        var name = NewName("lsi");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [Hash("pk"), Range("sk")],
            AttributeDefinitions =
            [
                new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.N),
                new("date", ScalarAttributeType.S), new("score", ScalarAttributeType.N),
            ],
            LocalSecondaryIndexes =
            [
                new() { IndexName = "by-date", KeySchema = [Hash("pk"), Range("date")], Projection = new() { ProjectionType = ProjectionType.KEYS_ONLY } },
                new()
                {
                    IndexName = "by-score", KeySchema = [Hash("pk"), Range("score")],
                    Projection = new() { ProjectionType = ProjectionType.INCLUDE, NonKeyAttributes = ["title"] },
                },
            ],
        });
        return name;
    }

    /// <summary>pk S; GSI "by-owner" on owner (S) + rank (N), projection ALL; GSI "by-tag" on tag (B), KEYS_ONLY.</summary>
    private static async Task<string> CreateGsiTableAsync(IAmazonDynamoDB client)
    {
        var name = NewName("gsi");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [Hash("pk")],
            AttributeDefinitions =
            [
                new("pk", ScalarAttributeType.S), new("owner", ScalarAttributeType.S), new("rank", ScalarAttributeType.N),
                new("tag", ScalarAttributeType.B),
            ],
            GlobalSecondaryIndexes =
            [
                new() { IndexName = "by-owner", KeySchema = [Hash("owner"), Range("rank")], Projection = new() { ProjectionType = ProjectionType.ALL } },
                new() { IndexName = "by-tag", KeySchema = [Hash("tag")], Projection = new() { ProjectionType = ProjectionType.KEYS_ONLY } },
            ],
        });
        return name;
    }

    [Fact]
    public async Task LocalIndex_QueryBySortKeyAlternatives_WithProjections()
    {
        using var client = _host.CreateClient();
        var table = await CreateLsiTableAsync(client);
        for (var i = 0; i < 30; i++)
        {
            await client.PutItemAsync(table, new()
            {
                ["pk"] = S(i < 20 ? "a" : "b"), ["sk"] = N(i.ToString()), ["date"] = S($"2026-01-{30 - i:D2}"),
                ["score"] = N(((i * 7) % 11 - 5).ToString()), ["title"] = S("t" + i), ["body"] = S("long text " + i),
            });
        }

        // A KEYS_ONLY local index: ordered by date, holding the table and index keys only.
        var byDate = await QueryAllAsync(client, new QueryRequest
        {
            TableName = table, IndexName = "by-date", KeyConditionExpression = "pk = :p AND #d BETWEEN :lo AND :hi",
            ExpressionAttributeNames = new() { ["#d"] = "date" },
            ExpressionAttributeValues = new() { [":p"] = S("a"), [":lo"] = S("2026-01-12"), [":hi"] = S("2026-01-20") }, ConsistentRead = true, Limit = 4,
        });
        Assert.Equal(Enumerable.Range(12, 9).Select(d => $"2026-01-{d:D2}"), byDate.Select(i => i["date"].S));
        Assert.All(byDate, i => Assert.Equal(["date", "pk", "sk"], i.Keys.Order()));

        // An INCLUDE local index: ordered by a number (negative ones first), backwards.
        var byScore = await QueryAllAsync(client, new QueryRequest
        {
            TableName = table, IndexName = "by-score", KeyConditionExpression = "pk = :p AND score >= :s",
            ExpressionAttributeValues = new() { [":p"] = S("a"), [":s"] = N("-2") }, ScanIndexForward = false,
        });
        var scores = byScore.Select(i => decimal.Parse(i["score"].N)).ToList();
        Assert.Equal(scores.OrderDescending(), scores);
        Assert.Equal(Enumerable.Range(0, 20).Count(i => (i * 7) % 11 - 5 >= -2), scores.Count);
        Assert.All(byScore, i => Assert.Equal(["pk", "score", "sk", "title"], i.Keys.Order()));

        // A local index fetches the other attributes from the table when asked for them.
        var all = await client.QueryAsync(new QueryRequest
        {
            TableName = table, IndexName = "by-date", KeyConditionExpression = "pk = :p AND #d = :d", Select = Select.ALL_ATTRIBUTES,
            ExpressionAttributeNames = new() { ["#d"] = "date" }, ExpressionAttributeValues = new() { [":p"] = S("b"), [":d"] = S("2026-01-05") },
        });
        Assert.Equal("long text 25", Assert.Single(all.Items)["body"].S);

        var description = (await client.DescribeTableAsync(table)).Table;
        Assert.Equal(["by-date", "by-score"], description.LocalSecondaryIndexes.Select(i => i.IndexName));
        Assert.Equal(30, description.LocalSecondaryIndexes[0].ItemCount);
        Assert.True(description.LocalSecondaryIndexes[1].IndexSizeBytes > 0);
        Assert.EndsWith($"table/{table}/index/by-score", description.LocalSecondaryIndexes[1].IndexArn);
        Assert.Equal(4, description.AttributeDefinitions.Count);
    }

    [Fact]
    public async Task GlobalIndex_IsSparse_AndFollowsKeyChanges()
    {
        using var client = _host.CreateClient();
        var table = await CreateGsiTableAsync(client);
        for (var i = 0; i < 40; i++)
        {
            var item = new Dictionary<string, AttributeValue> { ["pk"] = S("item" + i), ["n"] = N(i.ToString()) };
            if (i % 2 == 0) item["owner"] = S(i % 4 == 0 ? "ann" : "bob");
            if (i % 2 == 0) item["rank"] = N((100 - i).ToString());
            if (i % 5 == 0) item["tag"] = new AttributeValue { B = new MemoryStream([(byte)(i % 3)]) };
            await client.PutItemAsync(table, item);
        }

        async Task<List<string>> OwnedBy(string owner) => (await QueryAllAsync(client, new QueryRequest
        {
            TableName = table, IndexName = "by-owner", KeyConditionExpression = "#o = :o",
            ExpressionAttributeNames = new() { ["#o"] = "owner" }, ExpressionAttributeValues = new() { [":o"] = S(owner) },
        })).Select(i => i["pk"].S).ToList();

        // Sparse: only items with both index key attributes are in it, in rank order.
        var ann = await OwnedBy("ann");
        Assert.Equal(Enumerable.Range(0, 10).Select(k => 36 - (4 * k)).Select(i => "item" + i), ann);
        Assert.Equal(20, (await ScanAllAsync(client, new ScanRequest { TableName = table, IndexName = "by-owner" })).Count);
        Assert.Equal(8, (await ScanAllAsync(client, new ScanRequest { TableName = table, IndexName = "by-tag" })).Count);

        // Changing the index key moves the entry; removing it drops the entry; deleting the item drops it too.
        await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table, Key = Key("item0"), UpdateExpression = "SET #o = :b", ExpressionAttributeNames = new() { ["#o"] = "owner" },
            ExpressionAttributeValues = new() { [":b"] = S("bob") },
        });
        await client.UpdateItemAsync(new UpdateItemRequest { TableName = table, Key = Key("item4"), UpdateExpression = "REMOVE #r", ExpressionAttributeNames = new() { ["#r"] = "rank" } });
        await client.DeleteItemAsync(table, Key("item8"));
        await client.PutItemAsync(table, new() { ["pk"] = S("item1"), ["owner"] = S("ann"), ["rank"] = N("-1") });
        ann = await OwnedBy("ann");
        Assert.Equal(["item1", .. Enumerable.Range(0, 7).Select(k => 36 - (4 * k)).Select(i => "item" + i)], ann);
        var bob = await OwnedBy("bob");
        Assert.Equal(11, bob.Count);
        Assert.Equal("item0", bob[^1]);

        // KEYS_ONLY global index: table key and index key only.
        var tagged = await ScanAllAsync(client, new ScanRequest { TableName = table, IndexName = "by-tag" });
        Assert.All(tagged, i => Assert.Equal(["pk", "tag"], i.Keys.Order()));

        var description = (await client.DescribeTableAsync(table)).Table;
        var owner = description.GlobalSecondaryIndexes.Single(i => i.IndexName == "by-owner");
        Assert.Equal(IndexStatus.ACTIVE, owner.IndexStatus);
        Assert.Equal(19, owner.ItemCount);
        Assert.Equal(ProjectionType.ALL, owner.Projection.ProjectionType);
    }

    [Fact]
    public async Task GlobalIndex_ParallelScan_EveryEntryExactlyOnce()
    {
        using var client = _host.CreateClient();
        var table = await CreateGsiTableAsync(client);
        var writes = Enumerable.Range(0, 600).Select(i => new WriteRequest(new PutRequest(new()
        {
            ["pk"] = S("k" + i), ["owner"] = S("o" + (i % 37)), ["rank"] = N(i.ToString()), ["pad"] = S(new string('p', 50)),
        }))).Chunk(25);
        foreach (var chunk in writes) await client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = new() { [table] = [.. chunk] } });

        foreach (var segments in new[] { 1, 3, 16 })
        {
            var seen = new List<string>();
            for (var s = 0; s < segments; s++)
            {
                seen.AddRange((await ScanAllAsync(client, new ScanRequest
                {
                    TableName = table, IndexName = "by-owner", Segment = s, TotalSegments = segments, Limit = 23,
                })).Select(i => i["pk"].S));
            }

            Assert.Equal(600, seen.Count);
            Assert.Equal(600, seen.Distinct().Count());
        }
    }

    [Fact]
    public async Task GlobalIndex_AddedToTableWith10000Items_WhileWritesContinue_ThenDeleted()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "gadd");
        await Parallel.ForEachAsync(Enumerable.Range(0, 400), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (chunk, _) =>
        {
            var requests = Enumerable.Range(chunk * 25, 25).Select(i => new WriteRequest(new PutRequest(new()
            {
                ["pk"] = S("k" + i), ["grp"] = S("g" + (i % 50)), ["v"] = N(i.ToString()),
            }))).ToList();
            await client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = new() { [table] = requests } });
        });

        // Writers keep going while the index is added and backfilled: new items, and moves between groups.
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var i = 10_000 + (w * 100_000) + n;
                await client.PutItemAsync(table, new() { ["pk"] = S("k" + i), ["grp"] = S("g" + (i % 50)), ["v"] = N(i.ToString()) });
                await client.UpdateItemAsync(new UpdateItemRequest
                {
                    TableName = table, Key = Key("k" + ((n * 37 + w) % 10_000)), UpdateExpression = "SET grp = :g",
                    ExpressionAttributeValues = new() { [":g"] = S("moved") },
                });
                Interlocked.Increment(ref written);
            }
        })).ToList();

        await Task.Delay(200);
        var update = await client.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = table,
            AttributeDefinitions = [new("grp", ScalarAttributeType.S), new("v", ScalarAttributeType.N)],
            GlobalSecondaryIndexUpdates =
            [
                new() { Create = new() { IndexName = "by-grp", KeySchema = [Hash("grp"), Range("v")], Projection = new() { ProjectionType = ProjectionType.ALL } } },
            ],
        });
        Assert.Equal(IndexStatus.CREATING, update.TableDescription.GlobalSecondaryIndexes.Single().IndexStatus);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await client.DescribeTableAsync(table)).Table.GlobalSecondaryIndexes.Single().IndexStatus != IndexStatus.ACTIVE)
        {
            Assert.True(DateTime.UtcNow < deadline, "the index did not become ACTIVE");
            await Task.Delay(50);
        }

        await Task.Delay(300);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Assert.True(written > 0);

        // The index holds exactly the table's items, each once, under its current group.
        var tableItems = await ScanAllAsync(client, new ScanRequest { TableName = table });
        var indexItems = await ScanAllAsync(client, new ScanRequest { TableName = table, IndexName = "by-grp" });
        Assert.Equal(tableItems.Count, indexItems.Count);
        Assert.Equal(
            tableItems.Select(i => i["pk"].S + "/" + i["grp"].S).Order(),
            indexItems.Select(i => i["pk"].S + "/" + i["grp"].S).Order());
        var moved = await QueryAllAsync(client, new QueryRequest
        {
            TableName = table, IndexName = "by-grp", KeyConditionExpression = "grp = :g", ExpressionAttributeValues = new() { [":g"] = S("moved") },
        });
        Assert.Equal(tableItems.Count(i => i["grp"].S == "moved"), moved.Count);
        Assert.Equal(tableItems.Count, (await client.DescribeTableAsync(table)).Table.GlobalSecondaryIndexes.Single().ItemCount);

        // Deleting the index: reported DELETING once, then gone; reads through it are refused.
        var deleted = await client.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = table, GlobalSecondaryIndexUpdates = [new() { Delete = new() { IndexName = "by-grp" } }],
        });
        Assert.Equal(IndexStatus.DELETING, deleted.TableDescription.GlobalSecondaryIndexes.Single().IndexStatus);
        var after = (await client.DescribeTableAsync(table)).Table;
        Assert.Empty(after.GlobalSecondaryIndexes ?? []);
        Assert.Equal(["pk"], after.AttributeDefinitions.Select(a => a.AttributeName));
        await AssertValidationAsync("The table does not have the specified index: by-grp",
            () => client.QueryAsync(new QueryRequest
            {
                TableName = table, IndexName = "by-grp", KeyConditionExpression = "grp = :g", ExpressionAttributeValues = new() { [":g"] = S("g1") },
            }));
        await client.PutItemAsync(table, new() { ["pk"] = S("after"), ["grp"] = N("5") }); // no longer typed by an index
    }

    [Fact]
    public async Task IndexReads_And_Writes_Validation()
    {
        using var client = _host.CreateClient();
        var gsi = await CreateGsiTableAsync(client);
        var lsi = await CreateLsiTableAsync(client);
        await AssertValidationAsync("Consistent reads are not supported on global secondary indexes",
            () => client.QueryAsync(new QueryRequest
            {
                TableName = gsi, IndexName = "by-owner", ConsistentRead = true, KeyConditionExpression = "#o = :o",
                ExpressionAttributeNames = new() { ["#o"] = "owner" }, ExpressionAttributeValues = new() { [":o"] = S("x") },
            }));
        await AssertValidationAsync("The table does not have the specified index: nope",
            () => client.ScanAsync(new ScanRequest { TableName = gsi, IndexName = "nope" }));
        await AssertValidationAsync("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index by-tag because its projection type is not ALL",
            () => client.ScanAsync(new ScanRequest { TableName = gsi, IndexName = "by-tag", Select = Select.ALL_ATTRIBUTES }));
        await AssertValidationAsync("Query condition missed key schema element: owner",
            () => client.QueryAsync(new QueryRequest
            {
                TableName = gsi, IndexName = "by-owner", KeyConditionExpression = "pk = :o", ExpressionAttributeValues = new() { [":o"] = S("x") },
            }));
        await AssertValidationAsync("Filter Expression can only contain non-primary key attributes: Primary key attribute: rank",
            () => client.QueryAsync(new QueryRequest
            {
                TableName = gsi, IndexName = "by-owner", KeyConditionExpression = "#o = :o", FilterExpression = "#r > :o",
                ExpressionAttributeNames = new() { ["#o"] = "owner", ["#r"] = "rank" }, ExpressionAttributeValues = new() { [":o"] = S("x") },
            }));
        await AssertValidationAsync("The provided starting key is invalid",
            () => client.ScanAsync(new ScanRequest { TableName = gsi, IndexName = "by-owner", ExclusiveStartKey = Key("x") }));
        await AssertValidationAsync("One or more parameter values were invalid: Type mismatch for Index Key owner Expected: S Actual: N IndexName: by-owner",
            () => client.PutItemAsync(gsi, new() { ["pk"] = S("x"), ["owner"] = N("1") }));
        await AssertValidationAsync("One or more parameter values were invalid: Type mismatch for Index Key rank Expected: N Actual: S IndexName: by-owner",
            () => client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = gsi, Key = Key("x"), UpdateExpression = "SET #r = :r", ExpressionAttributeNames = new() { ["#r"] = "rank" },
                ExpressionAttributeValues = new() { [":r"] = S("high") },
            }));
        await AssertValidationAsync("One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: by-date, IndexKey: date",
            () => client.PutItemAsync(lsi, new() { ["pk"] = S("x"), ["sk"] = N("1"), ["date"] = S("") }));
        Assert.False((await client.GetItemAsync(gsi, Key("x"))).IsItemSet, "a refused write must not be stored");
        await AssertValidationAsync("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
            () => client.ScanAsync(new ScanRequest { TableName = gsi, Select = Select.ALL_PROJECTED_ATTRIBUTES }));
    }

    [Fact]
    public async Task Transactions_MaintainIndexes_AndRefuseBadIndexKeys()
    {
        using var client = _host.CreateClient();
        var table = await CreateGsiTableAsync(client);
        await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { Put = new Put { TableName = table, Item = new() { ["pk"] = S("a"), ["owner"] = S("zoe"), ["rank"] = N("2") } } },
                new() { Put = new Put { TableName = table, Item = new() { ["pk"] = S("b"), ["owner"] = S("zoe"), ["rank"] = N("1") } } },
            ],
        });
        var zoe = await QueryAllAsync(client, new QueryRequest
        {
            TableName = table, IndexName = "by-owner", KeyConditionExpression = "#o = :o",
            ExpressionAttributeNames = new() { ["#o"] = "owner" }, ExpressionAttributeValues = new() { [":o"] = S("zoe") },
        });
        Assert.Equal(["b", "a"], zoe.Select(i => i["pk"].S));

        var e = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { Delete = new Delete { TableName = table, Key = Key("a") } },
                new() { Put = new Put { TableName = table, Item = new() { ["pk"] = S("c"), ["owner"] = N("7") } } },
            ],
        }));
        Assert.Equal(["None", "ValidationError"], e.CancellationReasons.Select(r => r.Code));
        Assert.Equal("One or more parameter values were invalid: Type mismatch for Index Key owner Expected: S Actual: N IndexName: by-owner", e.CancellationReasons[1].Message);
        Assert.True((await client.GetItemAsync(table, Key("a"))).IsItemSet, "a cancelled transaction changes nothing");
    }

    public static TheoryData<string, string> CreateTableCases => new()
    {
        { "lsi-on-hash-only", "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex" },
        { "lsi-other-hash", "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: idx. index hash key: other, table hash key: pk" },
        { "lsi-no-range", "One or more parameter values were invalid: Index KeySchema does not have a range key for index: idx" },
        { "six-lsis", "One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5" },
        { "gsi-no-throughput", "One or more parameter values were invalid: ProvisionedThroughput must be specified for index: idx" },
        { "duplicate-name", "One or more parameter values were invalid: Duplicate index name: idx" },
        { "undefined-key", "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [missing], AttributeDefinitions: [pk, sk, other]" },
        { "unused-definition", "One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [pk, sk, other], keys used: [pk, sk]" },
        { "keys-only-with-attributes", "One or more parameter values were invalid: ProjectionType is KEYS_ONLY, but NonKeyAttributes is specified" },
        { "twenty-one-gsis", "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20" },
    };

    [Theory]
    [MemberData(nameof(CreateTableCases))]
    public async Task CreateTable_IndexValidation_Golden(string scenario, string expected)
    {
        using var client = _host.CreateClient();
        LocalSecondaryIndex Lsi(string name, params KeySchemaElement[] keys) => new() { IndexName = name, KeySchema = [.. keys], Projection = new() { ProjectionType = ProjectionType.ALL } };
        GlobalSecondaryIndex Gsi(string name, params KeySchemaElement[] keys) => new()
        {
            IndexName = name, KeySchema = [.. keys], Projection = new() { ProjectionType = ProjectionType.ALL },
            ProvisionedThroughput = new ProvisionedThroughput(1, 1),
        };
        var request = new CreateTableRequest
        {
            TableName = NewName("iv"),
            KeySchema = [Hash("pk"), Range("sk")],
            AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.S), new("other", ScalarAttributeType.S)],
            ProvisionedThroughput = new ProvisionedThroughput(1, 1),
        };
        switch (scenario)
        {
            case "lsi-on-hash-only":
                request.KeySchema = [Hash("pk")];
                request.AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("other", ScalarAttributeType.S)];
                request.LocalSecondaryIndexes = [Lsi("idx", Hash("pk"), Range("other"))];
                break;
            case "lsi-other-hash":
                request.LocalSecondaryIndexes = [Lsi("idx", Hash("other"), Range("sk"))];
                break;
            case "lsi-no-range":
                request.LocalSecondaryIndexes = [Lsi("idx", Hash("pk"))];
                break;
            case "six-lsis":
                request.LocalSecondaryIndexes = [.. Enumerable.Range(0, 6).Select(i => Lsi("idx" + i, Hash("pk"), Range("other")))];
                break;
            case "gsi-no-throughput":
                request.GlobalSecondaryIndexes = [Gsi("idx", Hash("other"))];
                request.GlobalSecondaryIndexes[0].ProvisionedThroughput = null;
                break;
            case "duplicate-name":
                request.LocalSecondaryIndexes = [Lsi("idx", Hash("pk"), Range("other"))];
                request.GlobalSecondaryIndexes = [Gsi("idx", Hash("other"))];
                break;
            case "undefined-key":
                request.GlobalSecondaryIndexes = [Gsi("idx", Hash("missing"))];
                break;
            case "unused-definition":
                request.GlobalSecondaryIndexes = [Gsi("idx", Hash("pk"))];
                break;
            case "keys-only-with-attributes":
                request.GlobalSecondaryIndexes = [Gsi("idx", Hash("other"))];
                request.GlobalSecondaryIndexes[0].Projection = new() { ProjectionType = ProjectionType.KEYS_ONLY, NonKeyAttributes = ["a"] };
                break;
            case "twenty-one-gsis":
                request.GlobalSecondaryIndexes = [.. Enumerable.Range(0, 21).Select(i => Gsi("idx" + i, Hash("other")))];
                break;
        }

        await AssertValidationAsync(expected, () => client.CreateTableAsync(request));
    }

    [Fact]
    public async Task UpdateTable_IndexChanges_Validation()
    {
        using var client = _host.CreateClient();
        var table = await CreateGsiTableAsync(client);
        await AssertValidationAsync("Attempting to create an index which already exists",
            () => client.UpdateTableAsync(new UpdateTableRequest
            {
                TableName = table, AttributeDefinitions = [new("owner", ScalarAttributeType.S)],
                GlobalSecondaryIndexUpdates = [new() { Create = new() { IndexName = "by-owner", KeySchema = [Hash("owner")], Projection = new() { ProjectionType = ProjectionType.ALL } } }],
            }));
        await AssertValidationAsync("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [nokey], AttributeDefinitions: [pk, owner, rank, tag]",
            () => client.UpdateTableAsync(new UpdateTableRequest
            {
                TableName = table,
                GlobalSecondaryIndexUpdates = [new() { Create = new() { IndexName = "idx", KeySchema = [Hash("nokey")], Projection = new() { ProjectionType = ProjectionType.ALL } } }],
            }));
        var e = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = table, GlobalSecondaryIndexUpdates = [new() { Delete = new() { IndexName = "absent" } }],
        }));
        Assert.Contains("absent", e.Message);
        await AssertValidationAsync("One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null",
            () => client.UpdateTableAsync(new UpdateTableRequest { TableName = table, GlobalSecondaryIndexUpdates = [new()] }));
        var limit = await Assert.ThrowsAsync<LimitExceededException>(() => client.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = table,
            GlobalSecondaryIndexUpdates = [new() { Delete = new() { IndexName = "by-owner" } }, new() { Delete = new() { IndexName = "by-tag" } }],
        }));
        Assert.Equal("Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table", limit.Message);
    }

    [Fact]
    public async Task LocalIndex_ItemCollectionMetrics_Reported()
    {
        using var client = _host.CreateClient();
        var table = await CreateLsiTableAsync(client);
        var put = await client.PutItemAsync(new PutItemRequest
        {
            TableName = table, Item = new() { ["pk"] = S("c"), ["sk"] = N("1"), ["date"] = S("d") },
            ReturnItemCollectionMetrics = ReturnItemCollectionMetrics.SIZE,
        });
        Assert.Equal("c", put.ItemCollectionMetrics.ItemCollectionKey["pk"].S);
        Assert.Equal([0.0, 1.0], put.ItemCollectionMetrics.SizeEstimateRangeGB);
        var plain = await client.PutItemAsync(new PutItemRequest { TableName = table, Item = new() { ["pk"] = S("c"), ["sk"] = N("2") } });
        Assert.Null(plain.ItemCollectionMetrics);
        var batch = await client.BatchWriteItemAsync(new BatchWriteItemRequest
        {
            RequestItems = new()
            {
                [table] = [new(new PutRequest(new() { ["pk"] = S("d"), ["sk"] = N("1") })), new(new DeleteRequest(new() { ["pk"] = S("c"), ["sk"] = N("2") }))],
            },
            ReturnItemCollectionMetrics = ReturnItemCollectionMetrics.SIZE,
        });
        Assert.Equal(["d", "c"], batch.ItemCollectionMetrics[table].Select(m => m.ItemCollectionKey["pk"].S));
        await AssertValidationAsync("One or more parameter values were invalid: Type mismatch for Index Key score Expected: N Actual: S IndexName: by-score",
            () => client.BatchWriteItemAsync(new BatchWriteItemRequest
            {
                RequestItems = new()
                {
                    [table] = [new(new PutRequest(new() { ["pk"] = S("e"), ["sk"] = N("1") })), new(new PutRequest(new() { ["pk"] = S("e"), ["sk"] = N("2"), ["score"] = S("x") }))],
                },
            }));
        Assert.False((await client.GetItemAsync(table, new() { ["pk"] = S("e"), ["sk"] = N("1") })).IsItemSet, "a refused batch writes nothing");
    }

    [DynamoDBTable("notused")]
    public sealed class Task2
    {
        [DynamoDBHashKey("pk")]
        public string Id { get; set; } = "";

        [DynamoDBGlobalSecondaryIndexHashKey("by-owner", AttributeName = "owner")]
        public string? Owner { get; set; }

        [DynamoDBGlobalSecondaryIndexRangeKey("by-owner", AttributeName = "rank")]
        public int Rank { get; set; }

        public string? Title { get; set; }
    }

    [Fact]
    public async Task DataModel_QueryAsync_ScanAsync_WithIndex()
    {
        using var client = _host.CreateClient();
        var table = await CreateGsiTableAsync(client);
        var context = new DynamoDBContextBuilder().WithDynamoDBClient(() => client).Build();
        for (var i = 0; i < 10; i++)
            await context.SaveAsync(new Task2 { Id = "t" + i, Owner = i % 2 == 0 ? "ann" : "bob", Rank = 10 - i, Title = "task " + i }, new SaveConfig { OverrideTableName = table });
        var anns = await context.QueryAsync<Task2>("ann", Amazon.DynamoDBv2.DocumentModel.QueryOperator.LessThan, [7], new QueryConfig { OverrideTableName = table, IndexName = "by-owner" })
            .GetRemainingAsync();
        Assert.Equal(["t8", "t6", "t4"], anns.Select(t => t.Id));
        Assert.Equal("task 8", anns[0].Title);
        var scanned = await context.ScanAsync<Task2>([new ScanCondition("Rank", Amazon.DynamoDBv2.DocumentModel.ScanOperator.GreaterThan, 8)],
            new ScanConfig { OverrideTableName = table, IndexName = "by-owner" }).GetRemainingAsync();
        Assert.Equal(["t0", "t1"], scanned.Select(t => t.Id).Order());
    }
}
