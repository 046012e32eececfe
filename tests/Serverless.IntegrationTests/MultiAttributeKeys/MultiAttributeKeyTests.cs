using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.Infrastructure.ApiAssert;

namespace Serverless.IntegrationTests.MultiAttributeKeys;

/// <summary>Global secondary indexes with multi-attribute keys (up to 4 HASH and 4 RANGE elements) through AWSSDK.DynamoDBv2.</summary>
[Collection(SharedHostCollection.Name)]
public sealed class MultiAttributeKeyTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    private static KeySchemaElement Hash(string name) => new(name, KeyType.HASH);

    private static KeySchemaElement Range(string name) => new(name, KeyType.RANGE);

    private static readonly List<AttributeDefinition> Definitions =
    [
        new("matchId", ScalarAttributeType.S), new("tournament", ScalarAttributeType.S), new("region", ScalarAttributeType.S),
        new("round", ScalarAttributeType.S), new("bracket", ScalarAttributeType.S), new("seq", ScalarAttributeType.N),
    ];

    /// <summary>Table keyed on matchId; GSI "by-tr": HASH tournament+region, RANGE round+bracket+seq, projection KEYS_ONLY.</summary>
    private static async Task<string> CreateTableAsync(IAmazonDynamoDB client)
    {
        var name = NewName("mak");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [Hash("matchId")],
            AttributeDefinitions = Definitions,
            GlobalSecondaryIndexes =
            [
                new()
                {
                    IndexName = "by-tr",
                    KeySchema = [Hash("tournament"), Hash("region"), Range("round"), Range("bracket"), Range("seq")],
                    Projection = new() { ProjectionType = ProjectionType.KEYS_ONLY },
                },
            ],
        });
        return name;
    }

    private static async Task PutMatchesAsync(IAmazonDynamoDB client, string table)
    {
        var rounds = new[] { "FINALS", "QUARTER", "SEMI" };
        var brackets = new[] { "LOWER", "UPPER" };
        var n = 0;
        foreach (var region in new[] { "EU", "NA" })
        {
            foreach (var round in rounds)
            {
                foreach (var bracket in brackets)
                {
                    for (var seq = 1; seq <= 3; seq++)
                    {
                        await client.PutItemAsync(table, new()
                        {
                            ["matchId"] = S($"m{n++:D3}"), ["tournament"] = S("W24"), ["region"] = S(region), ["round"] = S(round),
                            ["bracket"] = S(bracket), ["seq"] = N(seq.ToString()), ["note"] = S("x"),
                        });
                    }
                }
            }
        }

        // Sparse: each of these lacks one index key attribute, so none is in the index.
        await client.PutItemAsync(table, new() { ["matchId"] = S("sparse1"), ["tournament"] = S("W24"), ["round"] = S("SEMI"), ["bracket"] = S("UPPER"), ["seq"] = N("1") });
        await client.PutItemAsync(table, new() { ["matchId"] = S("sparse2"), ["tournament"] = S("W24"), ["region"] = S("NA"), ["round"] = S("SEMI"), ["seq"] = N("1") });
    }

    private static QueryRequest Query(string table, string condition, Dictionary<string, AttributeValue> values) => new()
    {
        TableName = table, IndexName = "by-tr", KeyConditionExpression = condition, ExpressionAttributeValues = values,
    };

    [Fact]
    public async Task CreateTable_DescribeTable_ReturnsTheKeySchemaAsGiven()
    {
        using var client = _host.CreateClient();
        var table = await CreateTableAsync(client);
        var index = (await client.DescribeTableAsync(table)).Table.GlobalSecondaryIndexes.Single();
        Assert.Equal(
            ["tournament:HASH", "region:HASH", "round:RANGE", "bracket:RANGE", "seq:RANGE"],
            index.KeySchema.Select(k => k.AttributeName + ":" + k.KeyType.Value).ToList());
    }

    [Fact]
    public async Task Query_EqualityOnAllPartitionAttributes_SortAttributesLeftToRight()
    {
        using var client = _host.CreateClient();
        var table = await CreateTableAsync(client);
        await PutMatchesAsync(client, table);

        var all = await QueryAllAsync(client, Query(table, "tournament = :t AND #r = :r",
            new() { [":t"] = S("W24"), [":r"] = S("NA") }).With(q => q.ExpressionAttributeNames = new() { ["#r"] = "region" }));
        Assert.Equal(18, all.Count);
        // Ordered by round, then bracket, then seq (N): DynamoDB's order of the concatenated sort attributes.
        var order = all.Select(i => $"{i["round"].S}/{i["bracket"].S}/{i["seq"].N}").ToList();
        Assert.Equal(order.OrderBy(s => s.Split('/')[0], StringComparer.Ordinal).ThenBy(s => s.Split('/')[1], StringComparer.Ordinal)
            .ThenBy(s => int.Parse(s.Split('/')[2])), order);
        Assert.DoesNotContain(all, i => i["matchId"].S.StartsWith("sparse", StringComparison.Ordinal));
        Assert.All(all, i => Assert.False(i.ContainsKey("note"))); // KEYS_ONLY: every index key attribute and the table key

        var semi = await QueryAllAsync(client, Query(table, "tournament = :t AND #r = :r AND round = :round",
            new() { [":t"] = S("W24"), [":r"] = S("NA"), [":round"] = S("SEMI") }).With(q => q.ExpressionAttributeNames = new() { ["#r"] = "region" }));
        Assert.Equal(6, semi.Count);

        var upperFrom2 = await QueryAllAsync(client, Query(table, "tournament = :t AND #r = :r AND round = :round AND bracket = :b AND seq >= :s",
            new() { [":t"] = S("W24"), [":r"] = S("NA"), [":round"] = S("SEMI"), [":b"] = S("UPPER"), [":s"] = N("2") })
            .With(q => q.ExpressionAttributeNames = new() { ["#r"] = "region" }));
        Assert.Equal(["2", "3"], upperFrom2.Select(i => i["seq"].N).ToList());

        var roundRange = await QueryAllAsync(client, Query(table, "tournament = :t AND #r = :r AND round BETWEEN :a AND :b",
            new() { [":t"] = S("W24"), [":r"] = S("EU"), [":a"] = S("QUARTER"), [":b"] = S("SEMI") })
            .With(q => q.ExpressionAttributeNames = new() { ["#r"] = "region" }));
        Assert.Equal(12, roundRange.Count);
        Assert.All(roundRange, i => Assert.NotEqual("FINALS", i["round"].S));

        var prefix = await QueryAllAsync(client, Query(table, "tournament = :t AND #r = :r AND round = :round AND begins_with(bracket, :b)",
            new() { [":t"] = S("W24"), [":r"] = S("EU"), [":round"] = S("FINALS"), [":b"] = S("LO") })
            .With(q => q.ExpressionAttributeNames = new() { ["#r"] = "region" }));
        Assert.Equal(3, prefix.Count);

        // Backwards, one item a page: LastEvaluatedKey holds every index key attribute and the table key.
        var request = Query(table, "tournament = :t AND #r = :r AND round = :round",
            new() { [":t"] = S("W24"), [":r"] = S("NA"), [":round"] = S("QUARTER") }).With(q =>
            {
                q.ExpressionAttributeNames = new() { ["#r"] = "region" };
                q.Limit = 1;
                q.ScanIndexForward = false;
            });
        var page = await client.QueryAsync(request);
        Assert.Equal(["bracket", "matchId", "region", "round", "seq", "tournament"], page.LastEvaluatedKey.Keys.Order(StringComparer.Ordinal).ToList());
        var paged = await QueryAllAsync(client, request);
        Assert.Equal(["UPPER/3", "UPPER/2", "UPPER/1", "LOWER/3", "LOWER/2", "LOWER/1"], paged.Select(i => $"{i["bracket"].S}/{i["seq"].N}").ToList());
    }

    [Fact]
    public async Task Query_BreakingTheRules_IsAValidationException()
    {
        using var client = _host.CreateClient();
        var table = await CreateTableAsync(client);
        var names = new Dictionary<string, string> { ["#r"] = "region" };

        await AssertValidationAsync("Query condition missed key schema element: region", () => client.QueryAsync(
            Query(table, "tournament = :t", new() { [":t"] = S("W24") })));
        await AssertValidationAsync("Query key condition not supported", () => client.QueryAsync(
            Query(table, "tournament = :t AND #r > :r", new() { [":t"] = S("W24"), [":r"] = S("NA") }).With(q => q.ExpressionAttributeNames = names)));
        // Skipping round while constraining bracket.
        await AssertValidationAsync("Query condition missed key schema element: round", () => client.QueryAsync(
            Query(table, "tournament = :t AND #r = :r AND bracket = :b", new() { [":t"] = S("W24"), [":r"] = S("NA"), [":b"] = S("UPPER") })
                .With(q => q.ExpressionAttributeNames = names)));
        // A condition after a range condition.
        await AssertValidationAsync("Query key condition not supported", () => client.QueryAsync(
            Query(table, "tournament = :t AND #r = :r AND round > :round AND bracket = :b",
                new() { [":t"] = S("W24"), [":r"] = S("NA"), [":round"] = S("A"), [":b"] = S("UPPER") }).With(q => q.ExpressionAttributeNames = names)));
        await AssertValidationAsync("One or more parameter values were invalid: Condition parameter type does not match schema type", () => client.QueryAsync(
            Query(table, "tournament = :t AND #r = :r AND round = :round AND bracket = :b AND seq = :s",
                new() { [":t"] = S("W24"), [":r"] = S("NA"), [":round"] = S("A"), [":b"] = S("UPPER"), [":s"] = S("1") })
                .With(q => q.ExpressionAttributeNames = names)));
    }

    [Fact]
    public async Task Writes_CheckEveryKeyAttributeType_AndScanSeesOnlyCompleteItems()
    {
        using var client = _host.CreateClient();
        var table = await CreateTableAsync(client);
        await PutMatchesAsync(client, table);
        var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.PutItemAsync(table, new()
        {
            ["matchId"] = S("bad"), ["tournament"] = S("W24"), ["region"] = S("NA"), ["round"] = S("SEMI"), ["bracket"] = S("UPPER"), ["seq"] = S("one"),
        }));
        Assert.Equal("ValidationException", e.ErrorCode);
        Assert.Contains("seq", e.Message, StringComparison.Ordinal);

        var scanned = await ScanAllAsync(client, new ScanRequest { TableName = table, IndexName = "by-tr", Limit = 7 });
        Assert.Equal(36, scanned.Count);
        Assert.Equal(36, scanned.Select(i => i["matchId"].S).Distinct().Count());

        // Removing one sort attribute takes the item out of the index; putting it back returns it.
        await client.UpdateItemAsync(new UpdateItemRequest { TableName = table, Key = new() { ["matchId"] = S("m000") }, UpdateExpression = "REMOVE bracket" });
        var names = new Dictionary<string, string> { ["#r"] = "region" };
        var eu = Query(table, "tournament = :t AND #r = :r", new() { [":t"] = S("W24"), [":r"] = S("EU") }).With(q => q.ExpressionAttributeNames = names);
        Assert.Equal(17, (await QueryAllAsync(client, eu)).Count);
        await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table, Key = new() { ["matchId"] = S("m000") }, UpdateExpression = "SET bracket = :b", ExpressionAttributeValues = new() { [":b"] = S("LOWER") },
        });
        Assert.Equal(18, (await QueryAllAsync(client, eu)).Count);
    }

    [Fact]
    public async Task PartiQL_SelectOnTheIndex_ReadsItByItsKeyAttributes()
    {
        using var client = _host.CreateClient();
        var table = await CreateTableAsync(client);
        await PutMatchesAsync(client, table);
        var result = await client.ExecuteStatementAsync(new ExecuteStatementRequest
        {
            Statement = $"SELECT * FROM \"{table}\".\"by-tr\" WHERE tournament = ? AND region = ? AND round = ?",
            Parameters = [S("W24"), S("EU"), S("SEMI")],
        });
        Assert.Equal(6, result.Items.Count);
        Assert.All(result.Items, i => Assert.Equal("SEMI", i["round"].S));
    }

    [Fact]
    public async Task UpdateTable_CreatesAMultiAttributeIndex_BackfillsIt()
    {
        using var client = _host.CreateClient();
        var table = await CreateTableAsync(client);
        await PutMatchesAsync(client, table);
        await client.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = table,
            AttributeDefinitions = Definitions,
            GlobalSecondaryIndexUpdates =
            [
                new() { Create = new() { IndexName = "by-rb", KeySchema = [Hash("round"), Hash("bracket"), Range("region"), Range("seq")], Projection = new() { ProjectionType = ProjectionType.ALL } } },
            ],
        });
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while ((await client.DescribeTableAsync(table)).Table.GlobalSecondaryIndexes.Single(i => i.IndexName == "by-rb").IndexStatus != IndexStatus.ACTIVE)
        {
            Assert.True(DateTime.UtcNow < deadline, "the index did not become ACTIVE");
            await Task.Delay(100);
        }

        var described = (await client.DescribeTableAsync(table)).Table.GlobalSecondaryIndexes.Single(i => i.IndexName == "by-rb");
        Assert.Equal(["round:HASH", "bracket:HASH", "region:RANGE", "seq:RANGE"], described.KeySchema.Select(k => k.AttributeName + ":" + k.KeyType.Value).ToList());
        var items = await QueryAllAsync(client, new QueryRequest
        {
            TableName = table, IndexName = "by-rb", KeyConditionExpression = "round = :r AND bracket = :b AND #g = :g AND seq < :s",
            ExpressionAttributeNames = new() { ["#g"] = "region" },
            ExpressionAttributeValues = new() { [":r"] = S("SEMI"), [":b"] = S("UPPER"), [":g"] = S("NA"), [":s"] = N("3") },
        });
        Assert.Equal(["1", "2"], items.Select(i => i["seq"].N).ToList());
        Assert.All(items, i => Assert.Equal("x", i["note"].S));
    }

    [Fact]
    public async Task CreateTable_InvalidMultiAttributeKeySchemas_AreRejected()
    {
        using var client = _host.CreateClient();
        Task Create(List<KeySchemaElement> keys, List<AttributeDefinition>? definitions = null) => client.CreateTableAsync(new CreateTableRequest
        {
            TableName = NewName("makbad"), BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [Hash("matchId")],
            AttributeDefinitions = definitions ?? Definitions,
            GlobalSecondaryIndexes = [new() { IndexName = "bad", KeySchema = keys, Projection = new() { ProjectionType = ProjectionType.ALL } }],
        });
        var many = new List<AttributeDefinition>(Definitions) { new("x1", ScalarAttributeType.S), new("x2", ScalarAttributeType.S) };

        await AssertValidationAsync("Invalid KeySchema: Number of HASH KeySchemaElements exceeds the limit of 4 for index: bad",
            () => Create([Hash("tournament"), Hash("region"), Hash("round"), Hash("bracket"), Hash("seq")]));
        await AssertValidationAsync("Invalid KeySchema: Number of RANGE KeySchemaElements exceeds the limit of 4 for index: bad",
            () => Create([Hash("matchId"), Range("tournament"), Range("region"), Range("round"), Range("bracket"), Range("x1")], many));
        await AssertValidationAsync("Invalid KeySchema: HASH KeySchemaElements must precede RANGE KeySchemaElements for index: bad",
            () => Create([Hash("tournament"), Range("region"), Hash("round")]));
        await AssertValidationAsync("Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
            () => Create([Range("tournament"), Hash("region")]));
        await AssertValidationAsync("Invalid KeySchema: Duplicate attribute name in KeySchema: region",
            () => Create([Hash("tournament"), Hash("region"), Range("region")]));
        // Local indexes keep the classic two-element schema.
        var lsi = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.CreateTableAsync(new CreateTableRequest
        {
            TableName = NewName("makbad"), BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [Hash("tournament"), Range("matchId")],
            AttributeDefinitions = Definitions,
            LocalSecondaryIndexes = [new() { IndexName = "bad", KeySchema = [Hash("tournament"), Range("round"), Range("seq")], Projection = new() { ProjectionType = ProjectionType.ALL } }],
        }));
        Assert.Contains("Member must have length less than or equal to 2", lsi.Message, StringComparison.Ordinal);
    }
}

internal static class RequestExtensions
{
    public static T With<T>(this T request, Action<T> change)
    {
        change(request);
        return request;
    }
}
