using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.DataModel;
using Amazon.DynamoDBv2.DocumentModel;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.Infrastructure.ApiAssert;

namespace Serverless.IntegrationTests.Query;

/// <summary>Scan and parallel Scan through the low-level client, and the object-persistence model's Query/Scan.</summary>
[Collection(SharedHostCollection.Name)]
public class ScanTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [Fact]
    public async Task ParallelScan_1_3_16_Segments_EachItemExactlyOnce()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "ps", ScalarAttributeType.S, ScalarAttributeType.N);
        const int items = 3000;
        await Parallel.ForEachAsync(Enumerable.Range(0, items), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            await client.PutItemAsync(table, new() { ["pk"] = S("p" + (i % 500)), ["sk"] = N((i / 500).ToString()), ["i"] = N(i.ToString()) }));

        foreach (var total in new[] { 1, 3, 16 })
        {
            var segments = await Task.WhenAll(Enumerable.Range(0, total).Select(s => ScanAllAsync(client, new ScanRequest
            {
                TableName = table, Segment = s, TotalSegments = total, Limit = 400,
            })));
            var seen = segments.SelectMany(x => x).Select(i => int.Parse(i["i"].N)).ToList();
            Assert.Equal(items, seen.Count);
            Assert.Equal(Enumerable.Range(0, items), seen.Order());
            if (total == 16) Assert.True(segments.Count(x => x.Count > 0) > 8);
        }

        var plain = await ScanAllAsync(client, new ScanRequest { TableName = table, Limit = 777 });
        Assert.Equal(items, plain.Select(i => i["i"].N).Distinct().Count());
    }

    [Fact]
    public async Task Scan_Filter_Count_Limit_Projection_DeletedItemsGone()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "sf", ScalarAttributeType.N);
        for (var i = 0; i < 30; i++) await client.PutItemAsync(table, new() { ["pk"] = N(i.ToString()), ["m"] = N((i % 5).ToString()), ["x"] = S("x") });
        for (var i = 0; i < 5; i++) await client.DeleteItemAsync(table, new() { ["pk"] = N(i.ToString()) });

        var page = await client.ScanAsync(new ScanRequest
        {
            TableName = table, Limit = 10, FilterExpression = "m = :z", ExpressionAttributeValues = new() { [":z"] = N("0") },
        });
        Assert.Equal(10, page.ScannedCount);
        Assert.NotNull(page.LastEvaluatedKey);

        var all = await ScanAllAsync(client, new ScanRequest { TableName = table, FilterExpression = "m = :z", ExpressionAttributeValues = new() { [":z"] = N("0") }, ProjectionExpression = "pk" });
        Assert.Equal(["10", "15", "20", "25", "5"], all.Select(i => i["pk"].N).Order());
        Assert.All(all, i => Assert.Equal(["pk"], i.Keys));

        var legacy = await ScanAllAsync(client, new ScanRequest
        {
            TableName = table,
            ScanFilter = new()
            {
                ["m"] = new Condition { ComparisonOperator = ComparisonOperator.GE, AttributeValueList = [N("3")] },
                ["pk"] = new Condition { ComparisonOperator = ComparisonOperator.LT, AttributeValueList = [N("10")] },
            },
            ConditionalOperator = ConditionalOperator.AND,
        });
        Assert.Equal(["8", "9"], legacy.Select(i => i["pk"].N).Order());

        var count = await client.ScanAsync(new ScanRequest { TableName = table, Select = Select.COUNT });
        Assert.Equal(25, count.Count);
        Assert.Equal(25, count.ScannedCount);
        Assert.Null(count.LastEvaluatedKey is { Count: > 0 } ? count.LastEvaluatedKey : null);
    }

    [Fact]
    public async Task Validation_Messages()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "sv", ScalarAttributeType.S);
        await AssertValidationAsync("The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            () => client.ScanAsync(new ScanRequest { TableName = table, Segment = 1 }));
        await AssertValidationAsync("The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            () => client.ScanAsync(new ScanRequest { TableName = table, TotalSegments = 2 }));
        await AssertValidationAsync("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 3",
            () => client.ScanAsync(new ScanRequest { TableName = table, Segment = 3, TotalSegments = 3 }));
        await AssertValidationAsync("1 validation error detected: Value '1000001' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000",
            () => client.ScanAsync(new ScanRequest { TableName = table, Segment = 0, TotalSegments = int.Parse("1000001") }));
        await AssertValidationAsync("Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES",
            () => client.ScanAsync(new ScanRequest { TableName = table, Select = Select.ALL_ATTRIBUTES, ProjectionExpression = "a" }));
        await AssertValidationAsync("The provided starting key is invalid: The provided key element does not match the schema",
            () => client.ScanAsync(new ScanRequest { TableName = table, ExclusiveStartKey = new() { ["pk"] = N("1") } }));
    }

    [DynamoDBTable("notused")]
    public sealed class Reading
    {
        [DynamoDBHashKey("pk")]
        public string Sensor { get; set; } = "";

        [DynamoDBRangeKey("sk")]
        public int At { get; set; }

        public double Value { get; set; }
    }

    [Fact]
    public async Task DataModel_QueryAsync_ScanAsync()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "dm", ScalarAttributeType.S, ScalarAttributeType.N);
        var context = new DynamoDBContextBuilder().WithDynamoDBClient(() => client).Build();
        var config = new SaveConfig { OverrideTableName = table };
        for (var i = 0; i < 12; i++)
            await context.SaveAsync(new Reading { Sensor = i < 8 ? "a" : "b", At = i, Value = i / 2.0 }, config);
        var queried = await context.QueryAsync<Reading>("a", QueryOperator.GreaterThan, [3], new QueryConfig { OverrideTableName = table }).GetRemainingAsync();
        Assert.Equal([4, 5, 6, 7], queried.Select(r => r.At));
        var scanned = await context.ScanAsync<Reading>([new ScanCondition("Value", ScanOperator.GreaterThanOrEqual, 5.0)], new ScanConfig { OverrideTableName = table }).GetRemainingAsync();
        Assert.Equal([10, 11], scanned.Select(r => r.At).Order());
    }
}
