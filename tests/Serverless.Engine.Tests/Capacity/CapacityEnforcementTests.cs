using System.Text.Json;

namespace Serverless.Engine.Tests.Capacity;

/// <summary>
/// Capacity enforcement through the request handler, on a manual clock: provisioned throughput and burst, GSI write
/// capacity, per-key limits, on-demand maximums, batches, transactions, the rounding rules, UpdateTable's decrease
/// limit and the metrics.
/// </summary>
public class CapacityEnforcementTests
{
    private const string Gsi =
        ",\"GlobalSecondaryIndexes\":[{\"IndexName\":\"gsi1\",\"KeySchema\":[{\"AttributeName\":\"g\",\"KeyType\":\"HASH\"}],\"Projection\":{\"ProjectionType\":\"ALL\"},\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,\"WriteCapacityUnits\":1}}]";

    private static void AssertThrottled(JsonElement error, string type, string reason, string resource)
    {
        Assert.Equal(type, error.GetProperty("__type").GetString());
        var reasons = error.GetProperty(type.EndsWith("#ThrottlingException", StringComparison.Ordinal) ? "throttlingReasons" : "ThrottlingReasons");
        Assert.Equal(reason, reasons[0].GetProperty("reason").GetString());
        Assert.Equal(resource, reasons[0].GetProperty("resource").GetString());
    }

    private const string Ptee = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException";
    private const string Throttling = "com.amazon.coral.availability#ThrottlingException";
    private const string Arn = "arn:aws:dynamodb:us-east-1:000000000000:table/";

    [Fact]
    public async Task ProvisionedTable_ServesItsUnitsPerSecond_ThenThrottles_AndRefillsWithTime()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("tab5", 5, 5);
        var (ok, error) = await h.PutUntilThrottledAsync("tab5", i => "k" + i);
        Assert.Equal(5, ok);
        AssertThrottled(error, Ptee, "TableWriteProvisionedThroughputExceeded", Arn + "tab5");
        Assert.Equal("The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            error.GetProperty("message").GetString());

        h.Clock.Advance(TimeSpan.FromSeconds(1));
        (ok, _) = await h.PutUntilThrottledAsync("tab5", i => "met" + i);
        Assert.Equal(5, ok);
    }

    /// <summary>A new table holds one second of its throughput; what it leaves unused accrues, up to 300 seconds' worth.</summary>
    [Fact]
    public async Task UnusedCapacity_IsKeptAsBurst_UpToThreeHundredSeconds()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("burst", 5, 5);
        h.Clock.Advance(TimeSpan.FromSeconds(100));
        var (ok, _) = await h.PutUntilThrottledAsync("burst", i => "a" + i);
        Assert.Equal(5 + 500, ok);
        h.Clock.Advance(TimeSpan.FromSeconds(1000));
        (ok, _) = await h.PutUntilThrottledAsync("burst", i => "b" + i);
        Assert.Equal(1500, ok);
    }

    [Fact]
    public async Task Reads_AreChargedByTheirConsistency()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("rcu2", 2, 100);
        await h.CallAsync("PutItem", CapacityHarness.Put("rcu2", "a"));
        for (var i = 0; i < 4; i++) await h.CallAsync("GetItem", CapacityHarness.Get("rcu2", "a"));
        AssertThrottled(await h.FailAsync("GetItem", CapacityHarness.Get("rcu2", "a")), Ptee, "TableReadProvisionedThroughputExceeded", Arn + "rcu2");
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 2; i++) await h.CallAsync("GetItem", CapacityHarness.Get("rcu2", "a", consistent: true));
        await h.FailAsync("GetItem", CapacityHarness.Get("rcu2", "a", consistent: true));
    }

    [Fact]
    public async Task ScanAndQuery_AreChargedPerFourKilobytesRead_AndMayLeaveDebt()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("scan", 1, 1000);
        var pad = new string('x', 1000);
        for (var i = 0; i < 10; i++) await h.CallAsync("PutItem", CapacityHarness.Put("scan", "k" + i, $",\"pad\":{{\"S\":\"{pad}\"}}"));

        // A strongly consistent scan of ten items of 1,006 bytes reads 10,060 bytes, three 4 KB units, while the new
        // table holds one: it is admitted (its size is unknown beforehand) and leaves two units of debt, so reads are
        // refused until the debt is paid back.
        var scan = await h.CallAsync("Scan", """{"TableName":"scan","ConsistentRead":true,"ReturnConsumedCapacity":"TOTAL"}""");
        Assert.Equal(10, scan.GetProperty("Count").GetInt32());
        Assert.Equal(3, scan.GetProperty("ConsumedCapacity").GetProperty("CapacityUnits").GetDouble());
        AssertThrottled(await h.FailAsync("GetItem", CapacityHarness.Get("scan", "k1")), Ptee, "TableReadProvisionedThroughputExceeded", Arn + "scan");
        h.Clock.Advance(TimeSpan.FromSeconds(2.4));
        await h.FailAsync("GetItem", CapacityHarness.Get("scan", "k1"));
        h.Clock.Advance(TimeSpan.FromSeconds(0.1));
        await h.CallAsync("GetItem", CapacityHarness.Get("scan", "k1"));

        // Eventually consistent: half of three units, however many items were returned.
        h.Clock.Advance(TimeSpan.FromSeconds(10));
        scan = await h.CallAsync("Scan", """{"TableName":"scan","ReturnConsumedCapacity":"TOTAL"}""");
        Assert.Equal(1.5, scan.GetProperty("ConsumedCapacity").GetProperty("CapacityUnits").GetDouble());
        Assert.Equal(5, h.Engine.Database.FindTable("scan")!.Consumed.ReadUnits);
        var query = await h.CallAsync("Query", """{"TableName":"scan","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"k3"}},"ReturnConsumedCapacity":"TOTAL"}""");
        Assert.Equal(0.5, query.GetProperty("ConsumedCapacity").GetProperty("CapacityUnits").GetDouble());
    }

    [Fact]
    public async Task GsiOutOfWriteCapacity_ThrottlesTheTableWritesThatWouldUpdateIt()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("withgsi", 100, 100, Gsi);
        await h.CallAsync("PutItem", CapacityHarness.Put("withgsi", "a", ",\"g\":{\"S\":\"x\"}"));
        var error = await h.FailAsync("PutItem", CapacityHarness.Put("withgsi", "b", ",\"g\":{\"S\":\"x\"}"));
        AssertThrottled(error, Ptee, "IndexWriteProvisionedThroughputExceeded", Arn + "withgsi/index/gsi1");
        Assert.Equal("The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API",
            error.GetProperty("message").GetString());

        // A write that does not touch the index is not held back by it.
        await h.CallAsync("PutItem", CapacityHarness.Put("withgsi", "c"));
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.CallAsync("PutItem", CapacityHarness.Put("withgsi", "b", ",\"g\":{\"S\":\"x\"}"));

        // Index writes are metered on the index, not on the table.
        var table = h.Engine.Database.FindTable("withgsi")!;
        Assert.Equal(2, table.Indexes[0].Consumed.WriteUnits);
        Assert.Equal(3, table.Consumed.WriteUnits);
    }

    [Fact]
    public async Task GsiReads_UseTheIndexCapacity()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("gsiread", 100, 100, Gsi);
        await h.CallAsync("PutItem", CapacityHarness.Put("gsiread", "a", ",\"g\":{\"S\":\"x\"}"));
        const string query = """{"TableName":"gsiread","IndexName":"gsi1","KeyConditionExpression":"g = :g","ExpressionAttributeValues":{":g":{"S":"x"}}}""";
        await h.CallAsync("Query", query);
        await h.CallAsync("Query", query);
        AssertThrottled(await h.FailAsync("Query", query), Ptee, "IndexReadProvisionedThroughputExceeded", Arn + "gsiread/index/gsi1");
        await h.CallAsync("GetItem", CapacityHarness.Get("gsiread", "a"));
    }

    [Fact]
    public async Task OnePartitionKey_IsLimited_OnProvisionedAndOnDemandTables()
    {
        await using var h = await CapacityHarness.OpenAsync(o =>
        {
            o.PartitionWriteUnits = 10;
            o.PartitionReadUnits = 4;
        });
        await h.CreateOnDemandAsync("hot");
        var (ok, error) = await h.PutUntilThrottledAsync("hot", _ => "same");
        Assert.Equal(10, ok);
        AssertThrottled(error, Throttling, "TableWriteKeyRangeThroughputExceeded", Arn + "hot");
        await h.CallAsync("PutItem", CapacityHarness.Put("hot", "other"));
        for (var i = 0; i < 8; i++) await h.CallAsync("GetItem", CapacityHarness.Get("hot", "same"));
        AssertThrottled(await h.FailAsync("GetItem", CapacityHarness.Get("hot", "same")), Throttling, "TableReadKeyRangeThroughputExceeded", Arn + "hot");

        await h.CreateProvisionedAsync("hotp", 1000, 1000);
        (ok, error) = await h.PutUntilThrottledAsync("hotp", _ => "same");
        Assert.Equal(10, ok);
        AssertThrottled(error, Ptee, "TableWriteKeyRangeThroughputExceeded", Arn + "hotp");
    }

    [Fact]
    public async Task OnDemandMaximums_AreEnforcedPerSecond_AndDescribed()
    {
        await using var h = await CapacityHarness.OpenAsync();
        var created = await h.CreateOnDemandAsync("odt", ",\"OnDemandThroughput\":{\"MaxReadRequestUnits\":2,\"MaxWriteRequestUnits\":3}");
        var description = created.GetProperty("TableDescription");
        Assert.Equal(2, description.GetProperty("OnDemandThroughput").GetProperty("MaxReadRequestUnits").GetInt64());
        Assert.Equal(3, description.GetProperty("OnDemandThroughput").GetProperty("MaxWriteRequestUnits").GetInt64());
        Assert.Equal(12000, description.GetProperty("WarmThroughput").GetProperty("ReadUnitsPerSecond").GetInt64());
        Assert.Equal(4000, description.GetProperty("WarmThroughput").GetProperty("WriteUnitsPerSecond").GetInt64());
        Assert.Equal("ACTIVE", description.GetProperty("WarmThroughput").GetProperty("Status").GetString());

        var (ok, error) = await h.PutUntilThrottledAsync("odt", i => "k" + i);
        Assert.Equal(3, ok);
        AssertThrottled(error, Throttling, "TableWriteMaxOnDemandThroughputExceeded", Arn + "odt");
        Assert.Equal("Throughput exceeds the maximum OnDemandThroughput configured on table or index", error.GetProperty("message").GetString());
        for (var i = 0; i < 4; i++) await h.CallAsync("GetItem", CapacityHarness.Get("odt", "k0"));
        AssertThrottled(await h.FailAsync("GetItem", CapacityHarness.Get("odt", "k0")), Throttling, "TableReadMaxOnDemandThroughputExceeded", Arn + "odt");

        // -1 removes a maximum; the other stays.
        var updated = await h.CallAsync("UpdateTable", """{"TableName":"odt","OnDemandThroughput":{"MaxWriteRequestUnits":-1}}""");
        Assert.Equal(-1, updated.GetProperty("TableDescription").GetProperty("OnDemandThroughput").GetProperty("MaxWriteRequestUnits").GetInt64());
        Assert.Equal(2, updated.GetProperty("TableDescription").GetProperty("OnDemandThroughput").GetProperty("MaxReadRequestUnits").GetInt64());
        (ok, _) = await h.PutUntilThrottledAsync("odt", i => "n" + i, max: 200).ContinueWith(t => t.IsFaulted ? (200, default(JsonElement)) : t.Result);
        Assert.Equal(200, ok);
    }

    [Fact]
    public async Task BatchWrite_ReturnsThrottledItemsUnprocessed_AndThrowsOnlyWhenNothingCouldBeDone()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("bwt", 5, 5);
        var puts = string.Join(",", Enumerable.Range(0, 8).Select(i => "{\"PutRequest\":{\"Item\":{\"pk\":{\"S\":\"k" + (i) + "\"}}}}"));
        var response = await h.CallAsync("BatchWriteItem", "{\"RequestItems\":{\"bwt\":[" + (puts) + "]},\"ReturnConsumedCapacity\":\"TOTAL\"}");
        var unprocessed = response.GetProperty("UnprocessedItems").GetProperty("bwt");
        Assert.Equal(3, unprocessed.GetArrayLength());
        Assert.Equal("k5", unprocessed[0].GetProperty("PutRequest").GetProperty("Item").GetProperty("pk").GetProperty("S").GetString());
        Assert.Equal(5, response.GetProperty("ConsumedCapacity")[0].GetProperty("CapacityUnits").GetDouble());

        var retry = "{\"RequestItems\":{\"bwt\":" + unprocessed.GetRawText() + "}}";
        AssertThrottled(await h.FailAsync("BatchWriteItem", retry), Ptee, "TableWriteProvisionedThroughputExceeded", Arn + "bwt");
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        response = await h.CallAsync("BatchWriteItem", retry);
        Assert.Empty(response.GetProperty("UnprocessedItems").EnumerateObject());
        Assert.Equal(8, (await h.CallAsync("Scan", """{"TableName":"bwt","Select":"COUNT"}""")).GetProperty("Count").GetInt32());
    }

    [Fact]
    public async Task BatchGet_ReturnsThrottledKeysUnprocessed_AndThrowsOnlyWhenNothingCouldBeDone()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("bgt", 2, 100);
        for (var i = 0; i < 6; i++) await h.CallAsync("PutItem", CapacityHarness.Put("bgt", "k" + i));
        var keys = string.Join(",", Enumerable.Range(0, 6).Select(i => "{\"pk\":{\"S\":\"k" + (i) + "\"}}"));
        var response = await h.CallAsync("BatchGetItem", "{\"RequestItems\":{\"bgt\":{\"Keys\":[" + (keys) + "],\"ProjectionExpression\":\"pk\"}}}");
        Assert.Equal(4, response.GetProperty("Responses").GetProperty("bgt").GetArrayLength());
        var unprocessed = response.GetProperty("UnprocessedKeys").GetProperty("bgt");
        Assert.Equal(2, unprocessed.GetProperty("Keys").GetArrayLength());
        Assert.Equal("pk", unprocessed.GetProperty("ProjectionExpression").GetString());
        var retry = "{\"RequestItems\":{\"bgt\":" + unprocessed.GetRawText() + "}}";
        AssertThrottled(await h.FailAsync("BatchGetItem", retry), Ptee, "TableReadProvisionedThroughputExceeded", Arn + "bgt");
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, (await h.CallAsync("BatchGetItem", retry)).GetProperty("Responses").GetProperty("bgt").GetArrayLength());
    }

    [Fact]
    public async Task Transactions_CostTwice_AndAreThrottledAsAWhole()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("txn", 4, 4);
        static string Puts(params string[] keys) => "{\"TransactItems\":[" + string.Join(",", keys.Select(k => "{\"Put\":{\"TableName\":\"txn\",\"Item\":{\"pk\":{\"S\":\"" + (k) + "\"}}}}")) + "]}";
        var error = await h.FailAsync("TransactWriteItems", Puts("a", "b", "c"));
        Assert.Equal("com.amazonaws.dynamodb.v20120810#TransactionCanceledException", error.GetProperty("__type").GetString());
        Assert.Equal("Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ProvisionedThroughputExceeded]", error.GetProperty("Message").GetString());
        Assert.Equal("ProvisionedThroughputExceeded", error.GetProperty("CancellationReasons")[2].GetProperty("Code").GetString());
        Assert.Equal(0, h.Engine.Database.FindTable("txn")!.ItemCount);

        // Nothing was taken by the cancelled transaction: two transactional puts (2 units each) still fit.
        var ok = await h.CallAsync("TransactWriteItems", Puts("a", "b")[..^1] + ",\"ReturnConsumedCapacity\":\"TOTAL\"}");
        Assert.Equal(4, ok.GetProperty("ConsumedCapacity")[0].GetProperty("CapacityUnits").GetDouble());
        await h.FailAsync("TransactWriteItems", Puts("c"));

        const string gets = """{"TransactItems":[{"Get":{"TableName":"txn","Key":{"pk":{"S":"a"}}}},{"Get":{"TableName":"txn","Key":{"pk":{"S":"b"}}}}]}""";
        await h.CallAsync("TransactGetItems", gets);
        error = await h.FailAsync("TransactGetItems", gets);
        Assert.Equal("Transaction cancelled, please refer cancellation reasons for specific reasons [ProvisionedThroughputExceeded, None]", error.GetProperty("Message").GetString());
    }

    [Fact]
    public async Task NoThrottling_OnlyMeters()
    {
        await using var h = await CapacityHarness.OpenAsync(o => o.Enforce = false);
        await h.CreateProvisionedAsync("free", 1, 1);
        for (var i = 0; i < 50; i++) await h.CallAsync("PutItem", CapacityHarness.Put("free", "k" + i));
        Assert.Equal(50, h.Engine.Database.FindTable("free")!.Consumed.WriteUnits);
    }

    [Fact]
    public async Task UpdateTable_AllowsFourDecreasesADay_ThenOneAnHour()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("dec", 20, 20);
        static string To(int rcu) => "{\"TableName\":\"dec\",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":" + (rcu) + ",\"WriteCapacityUnits\":20}}";
        for (var rcu = 19; rcu >= 16; rcu--) await h.CallAsync("UpdateTable", To(rcu));
        h.Clock.Advance(TimeSpan.FromMinutes(10));
        var error = await h.FailAsync("UpdateTable", To(15));
        Assert.Equal("com.amazonaws.dynamodb.v20120810#LimitExceededException", error.GetProperty("__type").GetString());
        Assert.Equal(
            "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: 4. Last decrease at Monday, March 2, 2026 at 10:00:00 AM Coordinated Universal Time. Next decrease can be made at Monday, March 2, 2026 at 11:00:00 AM Coordinated Universal Time",
            error.GetProperty("message").GetString());

        // Increases are not limited; one more decrease an hour after the last one.
        await h.CallAsync("UpdateTable", To(30));
        h.Clock.Advance(TimeSpan.FromMinutes(50));
        var table = await h.CallAsync("UpdateTable", To(15));
        Assert.Equal(5, table.GetProperty("TableDescription").GetProperty("ProvisionedThroughput").GetProperty("NumberOfDecreasesToday").GetInt32());
        await h.FailAsync("UpdateTable", To(14));
        h.Clock.Advance(TimeSpan.FromHours(14)); // the next UTC day
        for (var rcu = 14; rcu >= 11; rcu--) await h.CallAsync("UpdateTable", To(rcu));
    }

    [Fact]
    public async Task UpdateTable_RaisingThroughput_KeepsTheBurst_AndServesTheNewRate()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("raise", 5, 1);
        var (ok, _) = await h.PutUntilThrottledAsync("raise", i => "a" + i);
        Assert.Equal(1, ok);
        await h.CallAsync("UpdateTable", """{"TableName":"raise","ProvisionedThroughput":{"ReadCapacityUnits":5,"WriteCapacityUnits":10}}""");
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        (ok, _) = await h.PutUntilThrottledAsync("raise", i => "b" + i);
        Assert.Equal(10, ok);
    }

    [Fact]
    public async Task Metrics_ReportProvisionedConsumedThrottledAndBurst_PerTableAndGsi_PerMinute()
    {
        await using var h = await CapacityHarness.OpenAsync();
        await h.CreateProvisionedAsync("met", 10, 5, Gsi);
        await h.PutUntilThrottledAsync("met", i => "k" + i, extra: ",\"g\":{\"S\":\"x\"}");
        h.Clock.Advance(TimeSpan.FromMinutes(1));
        await h.CallAsync("PutItem", CapacityHarness.Put("met", "z"));
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) h.Engine.Database.WriteMetrics(w);
        var table = JsonDocument.Parse(buffer.WrittenMemory).RootElement.GetProperty("Tables")[0];
        Assert.Equal("met", table.GetProperty("TableName").GetString());
        Assert.Equal(5, table.GetProperty("ProvisionedWriteCapacityUnits").GetDouble());
        Assert.Equal(10, table.GetProperty("ProvisionedReadCapacityUnits").GetDouble());
        Assert.Equal(0, table.GetProperty("ThrottledRequests").GetInt64()); // the GSI refused the write
        Assert.Equal(5 + 300 - 2, table.GetProperty("WriteCapacityRemaining").GetDouble(), 3);
        var minutes = table.GetProperty("Minutes");
        Assert.Equal(2, minutes.GetArrayLength());
        Assert.Equal(1, minutes[0].GetProperty("ConsumedWriteCapacityUnits").GetDouble());
        Assert.Equal(5, minutes[0].GetProperty("ProvisionedWriteCapacityUnits").GetDouble());
        Assert.Equal(1, minutes[1].GetProperty("ConsumedWriteCapacityUnits").GetDouble());
        var gsi = table.GetProperty("GlobalSecondaryIndexes")[0];
        Assert.Equal("gsi1", gsi.GetProperty("IndexName").GetString());
        Assert.Equal(1, gsi.GetProperty("ConsumedWriteCapacityUnits").GetDouble());
        Assert.Equal(1, gsi.GetProperty("WriteThrottleEvents").GetInt64());
        Assert.Equal(1, gsi.GetProperty("ThrottledRequests").GetInt64());
        Assert.Equal(1, gsi.GetProperty("ProvisionedWriteCapacityUnits").GetDouble());
    }
}
