using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.Infrastructure.ApiAssert;

namespace Serverless.IntegrationTests.Query;

/// <summary>Query through the low-level client: key-condition operators, order, paging, filters and validation.</summary>
[Collection(SharedHostCollection.Name)]
public class QueryTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    private static QueryRequest Q(string table, string keyCondition, Dictionary<string, AttributeValue> values, bool forward = true, int? limit = null) => new()
    {
        TableName = table,
        KeyConditionExpression = keyCondition,
        ExpressionAttributeValues = values,
        ScanIndexForward = forward,
        Limit = limit,
        ConsistentRead = true,
    };

    public static TheoryData<string, string, string, string[]> NumberCases => new()
    {
        // condition, :a, :b, expected sort keys in ascending order
        { "sk = :a", "-1.5", "", ["-1.5"] },
        { "sk < :a", "0", "", ["-100", "-2", "-1.5", "-0.001"] },
        { "sk <= :a", "0", "", ["-100", "-2", "-1.5", "-0.001", "0"] },
        { "sk > :a", "0.5", "", ["1", "2.25", "10", "1000"] },
        { "sk >= :a", "0.5", "", ["0.5", "1", "2.25", "10", "1000"] },
        { "sk BETWEEN :a AND :b", "-2", "2.25", ["-2", "-1.5", "-0.001", "0", "0.5", "1", "2.25"] },
        { ":a < sk", "10", "", ["1000"] },
    };

    [Theory]
    [MemberData(nameof(NumberCases))]
    public async Task NumberSortKey_EveryOperator_BothDirections(string condition, string a, string b, string[] expected)
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "qn", ScalarAttributeType.S, ScalarAttributeType.N);
        string[] all = ["-100", "-2", "-1.5", "-0.001", "0", "0.5", "1", "2.25", "10", "1000"];
        foreach (var n in all.Reverse()) await client.PutItemAsync(table, new() { ["pk"] = S("p"), ["sk"] = N(n) });
        await client.PutItemAsync(table, new() { ["pk"] = S("other"), ["sk"] = N("0") });
        var values = new Dictionary<string, AttributeValue> { [":p"] = S("p"), [":a"] = N(a) };
        if (b != "") values[":b"] = N(b);
        foreach (var forward in new[] { true, false })
        {
            var items = await QueryAllAsync(client, Q(table, "pk = :p AND " + condition, values, forward));
            var got = items.Select(i => i["sk"].N).ToArray();
            Assert.Equal(forward ? expected : expected.Reverse().ToArray(), got);
        }
    }

    [Fact]
    public async Task StringSortKey_Operators_NonAscii_BothDirections()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "qs", ScalarAttributeType.S, ScalarAttributeType.S);
        string[] all = ["a", "ab", "abc", "abd", "b", "z", "é", "éa", "中", "😀"];
        var sorted = all.OrderBy(s => Encoding.UTF8.GetBytes(s), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToArray();
        foreach (var s in all) await client.PutItemAsync(table, new() { ["pk"] = S("p"), ["sk"] = S(s) });

        async Task Check(string condition, string a, string? b, string[] expected)
        {
            var values = new Dictionary<string, AttributeValue> { [":p"] = S("p"), [":a"] = S(a) };
            if (b != null) values[":b"] = S(b);
            Assert.Equal(expected, (await QueryAllAsync(client, Q(table, "pk = :p AND " + condition, values, true, 3))).Select(i => i["sk"].S));
            Assert.Equal(expected.Reverse(), (await QueryAllAsync(client, Q(table, "pk = :p AND " + condition, values, false, 2))).Select(i => i["sk"].S));
        }

        await Check("sk = :a", "é", null, ["é"]);
        await Check("sk < :a", "b", null, ["a", "ab", "abc", "abd"]);
        await Check("sk <= :a", "b", null, ["a", "ab", "abc", "abd", "b"]);
        await Check("sk > :a", "z", null, ["é", "éa", "中", "😀"]);
        await Check("sk >= :a", "中", null, ["中", "😀"]);
        await Check("sk BETWEEN :a AND :b", "abc", "é", ["abc", "abd", "b", "z", "é"]);
        await Check("begins_with(sk, :a)", "ab", null, ["ab", "abc", "abd"]);
        await Check("begins_with(sk, :a)", "é", null, ["é", "éa"]);
        await Check("begins_with(sk, :a)", "x", null, []);
        Assert.Equal(sorted, (await QueryAllAsync(client, Q(table, "pk = :p", new() { [":p"] = S("p") }))).Select(i => i["sk"].S));
    }

    [Fact]
    public async Task BinarySortKey_Operators()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "qb", ScalarAttributeType.B, ScalarAttributeType.B);
        byte[][] all = [[0], [0, 0], [0, 1], [1], [1, 0, 255], [1, 2], [255], [255, 255]];
        var pk = new AttributeValue { B = new MemoryStream([7]) };
        foreach (var b in all) await client.PutItemAsync(table, new() { ["pk"] = pk, ["sk"] = new() { B = new MemoryStream(b) } });

        async Task<List<string>> Run(string condition, byte[] a, byte[]? b = null, bool forward = true)
        {
            var values = new Dictionary<string, AttributeValue> { [":p"] = new() { B = new MemoryStream([7]) }, [":a"] = new() { B = new MemoryStream(a) } };
            if (b != null) values[":b"] = new() { B = new MemoryStream(b) };
            return (await QueryAllAsync(client, Q(table, "pk = :p AND " + condition, values, forward, 2))).Select(i => Convert.ToHexString(i["sk"].B.ToArray())).ToList();
        }

        Assert.Equal(["00", "0000", "0001"], await Run("begins_with(sk, :a)", [0]));
        Assert.Equal(["0102", "0100FF", "01"], await Run("begins_with(sk, :a)", [1], forward: false));
        Assert.Equal(["00", "0000", "0001", "01"], await Run("sk <= :a", [1]));
        Assert.Equal(["FF", "FFFF"], await Run("sk > :a", [1, 2]));
        Assert.Equal(["0001", "01", "0100FF"], await Run("sk BETWEEN :a AND :b", [0, 1], [1, 0, 255]));
        Assert.Equal(["0000"], await Run("sk = :a", [0, 0]));
        Assert.Equal(["00", "0000"], await Run("sk < :a", [0, 1]));
        Assert.Equal(["FFFF"], await Run("sk >= :a", [255, 255]));
    }

    [Fact]
    public async Task LegacyKeyConditions_QueryFilter_AttributesToGet()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "ql", ScalarAttributeType.S, ScalarAttributeType.N);
        for (var i = 0; i < 10; i++) await client.PutItemAsync(table, new() { ["pk"] = S("p"), ["sk"] = N(i.ToString()), ["v"] = N((i % 3).ToString()), ["x"] = S("x") });
        var response = await client.QueryAsync(new QueryRequest
        {
            TableName = table,
            KeyConditions = new()
            {
                ["pk"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [S("p")] },
                ["sk"] = new Condition { ComparisonOperator = ComparisonOperator.BETWEEN, AttributeValueList = [N("2"), N("8")] },
            },
            QueryFilter = new() { ["v"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [N("0")] } },
            AttributesToGet = ["sk", "v"],
            ScanIndexForward = false,
        });
        Assert.Equal(["6", "3"], response.Items.Select(i => i["sk"].N));
        Assert.All(response.Items, i => Assert.False(i.ContainsKey("x")));
        Assert.Equal(2, response.Count);
        Assert.Equal(7, response.ScannedCount);

        // KeyConditions alone does not count as a non-expression parameter: it combines with FilterExpression.
        var mixed = await client.QueryAsync(new QueryRequest
        {
            TableName = table,
            KeyConditions = new() { ["pk"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [S("p")] } },
            FilterExpression = "v = :one",
            ExpressionAttributeValues = new() { [":one"] = N("1") },
        });
        Assert.Equal(["1", "4", "7"], mixed.Items.Select(i => i["sk"].N));
    }

    [Fact]
    public async Task Filter_Count_ScannedCount_Select_Capacity()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "qf", ScalarAttributeType.S, ScalarAttributeType.N);
        for (var i = 0; i < 20; i++) await client.PutItemAsync(table, new() { ["pk"] = S("p"), ["sk"] = N(i.ToString()), ["even"] = new() { BOOL = i % 2 == 0 } });
        var response = await client.QueryAsync(new QueryRequest
        {
            TableName = table,
            KeyConditionExpression = "pk = :p",
            FilterExpression = "even = :t",
            ExpressionAttributeValues = new() { [":p"] = S("p"), [":t"] = new() { BOOL = true } },
            Limit = 7,
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        });
        Assert.Equal(4, response.Count);
        Assert.Equal(7, response.ScannedCount);
        Assert.Equal("6", response.LastEvaluatedKey["sk"].N);
        Assert.Equal("p", response.LastEvaluatedKey["pk"].S);
        Assert.Equal(0.5, response.ConsumedCapacity.CapacityUnits);

        var count = await client.QueryAsync(new QueryRequest
        {
            TableName = table,
            KeyConditionExpression = "pk = :p",
            ExpressionAttributeValues = new() { [":p"] = S("p") },
            Select = Select.COUNT,
        });
        Assert.Equal(20, count.Count);
        Assert.Equal(20, count.ScannedCount);
        Assert.True(count.Items is null or { Count: 0 });

        var projected = await client.QueryAsync(new QueryRequest
        {
            TableName = table,
            KeyConditionExpression = "pk = :p AND sk = :s",
            ProjectionExpression = "#e",
            ExpressionAttributeNames = new() { ["#e"] = "even" },
            ExpressionAttributeValues = new() { [":p"] = S("p"), [":s"] = N("3") },
        });
        Assert.Equal(["even"], projected.Items.Single().Keys);
    }

    [Fact]
    public async Task Paging_StopsAtOneMegabyte()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "qmb", ScalarAttributeType.S, ScalarAttributeType.N);
        var payload = new string('x', 10_000);

        // 3,000 write units into one partition key: more than its 1,000 a second, so throttled writes are retried, as an
        // application does against DynamoDB.
        await Parallel.ForEachAsync(Enumerable.Range(0, 300), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await client.PutItemAsync(table, new() { ["pk"] = S("p"), ["sk"] = N(i.ToString()), ["data"] = S(payload) });
                    return;
                }
                catch (ThrottlingException) when (attempt < 200)
                {
                    await Task.Delay(50);
                }
            }
        });
        var request = Q(table, "pk = :p", new() { [":p"] = S("p") });
        var first = await client.QueryAsync(request);
        Assert.InRange(first.Count!.Value, 100, 106); // ~10 KB each, the page stops once 1 MB is read
        Assert.NotNull(first.LastEvaluatedKey);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => i.ToString()), (await QueryAllAsync(client, request)).Select(i => i["sk"].N));
    }

    [Fact]
    public async Task HashOnlyTable_Query_ReturnsTheItem()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "qh", ScalarAttributeType.N);
        await client.PutItemAsync(table, new() { ["pk"] = N("5"), ["a"] = S("x") });
        await client.PutItemAsync(table, new() { ["pk"] = N("6") });
        var items = await QueryAllAsync(client, Q(table, "pk = :p", new() { [":p"] = N("5") }));
        Assert.Equal("x", items.Single()["a"].S);
    }

    [Fact]
    public async Task Validation_Messages()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "qv", ScalarAttributeType.S, ScalarAttributeType.N);
        await AssertValidationAsync("Query condition missed key schema element: pk",
            () => client.QueryAsync(Q(table, "sk = :a", new() { [":a"] = N("1") })));
        await AssertValidationAsync("Query key condition not supported",
            () => client.QueryAsync(Q(table, "pk < :a", new() { [":a"] = S("1") })));
        await AssertValidationAsync("Query condition missed key schema element: sk",
            () => client.QueryAsync(Q(table, "pk = :a AND zz = :b", new() { [":a"] = S("1"), [":b"] = S("1") })));
        await AssertValidationAsync("One or more parameter values were invalid: Condition parameter type does not match schema type",
            () => client.QueryAsync(Q(table, "pk = :a", new() { [":a"] = N("1") })));
        await AssertValidationAsync("Filter Expression can only contain non-primary key attributes: Primary key attribute: sk",
            () => client.QueryAsync(new QueryRequest
            {
                TableName = table, KeyConditionExpression = "pk = :a", FilterExpression = "sk > :b",
                ExpressionAttributeValues = new() { [":a"] = S("1"), [":b"] = N("1") },
            }));
        await AssertValidationAsync("Cannot specify the ProjectionExpression when choosing to get only the Count",
            () => client.QueryAsync(new QueryRequest
            {
                TableName = table, KeyConditionExpression = "pk = :a", ProjectionExpression = "x", Select = Select.COUNT,
                ExpressionAttributeValues = new() { [":a"] = S("1") },
            }));
        await AssertValidationAsync("1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
            () => client.QueryAsync(Q(table, "pk = :a", new() { [":a"] = S("1") }, limit: 0)));
        await AssertValidationAsync("The provided starting key is invalid: The provided key element does not match the schema",
            () =>
            {
                var q = Q(table, "pk = :a", new() { [":a"] = S("1") });
                q.ExclusiveStartKey = new() { ["pk"] = S("1") };
                return client.QueryAsync(q);
            });
        await AssertValidationAsync("The provided starting key is outside query boundaries based on provided conditions",
            () =>
            {
                var q = Q(table, "pk = :a", new() { [":a"] = S("1") });
                q.ExclusiveStartKey = new() { ["pk"] = S("2"), ["sk"] = N("1") };
                return client.QueryAsync(q);
            });
        await AssertValidationAsync("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            () => client.QueryAsync(new QueryRequest { TableName = table }));
        await AssertValidationAsync("Conditions can be of length 1 or 2 only",
            () => client.QueryAsync(new QueryRequest
            {
                TableName = table,
                KeyConditions = new()
                {
                    ["pk"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [S("p")] },
                    ["sk"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [N("1")] },
                    ["x"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [N("1")] },
                },
            }));
        await AssertValidationAsync("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
            () => client.QueryAsync(Q(table, "pk = :a AND begins_with(sk, :b)", new() { [":a"] = S("1"), [":b"] = N("1") })));
    }
}
