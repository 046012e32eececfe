using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Capacity;

/// <summary>One host for the capacity tests: the adjustable clock, and a low per-key write limit (20 units a second).</summary>
public sealed class CapacityHostFixture : IAsyncLifetime
{
    public HostProcess Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HostProcess.StartAsync(new HostProcessOptions
    {
        InMemory = true,
        Environment = new Dictionary<string, string>
        {
            ["LocalHost__ClockControl"] = "true",
            ["Capacity__PartitionWriteUnits"] = "20",
        },
    });

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>
/// Capacity enforcement through AWSSDK.DynamoDBv2 (with its retries off, and on) and boto3 (botocore 1.43, retries
/// off and on): provisioned throttling and burst, GSI throttling, the per-key limit, on-demand maximums, batches,
/// transactions, the SDK's default retries against a throttled table, and the metrics.
/// </summary>
public sealed class CapacityTests(CapacityHostFixture fixture) : IClassFixture<CapacityHostFixture>
{
    private readonly HostProcess _host = fixture.Host;
    private const string Arn = "arn:aws:dynamodb:us-east-1:000000000000:table/";
    private const string TableMessage = "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.";

    private AmazonDynamoDBClient NoRetries() => _host.CreateClient(c => c.MaxErrorRetry = 0);

    private static string NewName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private static async Task<string> CreateProvisionedAsync(AmazonDynamoDBClient client, string prefix, long rcu, long wcu, GlobalSecondaryIndex? gsi = null)
    {
        var name = NewName(prefix);
        var request = new CreateTableRequest
        {
            TableName = name,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            ProvisionedThroughput = new ProvisionedThroughput(rcu, wcu),
        };
        if (gsi != null)
        {
            request.AttributeDefinitions.Add(new AttributeDefinition("g", ScalarAttributeType.S));
            request.GlobalSecondaryIndexes = [gsi];
        }

        await client.CreateTableAsync(request);
        return name;
    }

    private static Task PutAsync(AmazonDynamoDBClient client, string table, string pk, string? g = null)
    {
        var item = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = pk } };
        if (g != null) item["g"] = new AttributeValue { S = g };
        return client.PutItemAsync(new PutItemRequest { TableName = table, Item = item });
    }

    /// <summary>Puts distinct items until one is refused; returns how many succeeded and the exception.</summary>
    private static async Task<(int Succeeded, TException Error)> PutUntilAsync<TException>(AmazonDynamoDBClient client, string table, Func<int, string> key, string? g = null, int max = 5000)
        where TException : Exception
    {
        for (var i = 0; i < max; i++)
        {
            try
            {
                await PutAsync(client, table, key(i), g);
            }
            catch (TException e)
            {
                return (i, e);
            }
        }

        throw new InvalidOperationException($"{max} puts were never throttled");
    }

    [Fact]
    public async Task ProvisionedTable_ThrottlesBeyondItsThroughput_AndKeepsUnusedCapacityAsBurst()
    {
        using var client = NoRetries();
        var table = await CreateProvisionedAsync(client, "prov", 5, 5);
        var (ok, error) = await PutUntilAsync<ProvisionedThroughputExceededException>(client, table, i => "a" + i);
        Assert.InRange(ok, 5, 60); // one second's units, plus what real time refills while the puts run
        Assert.Equal(TableMessage, error.Message);
        var reason = Assert.Single(error.ThrottlingReasons);
        Assert.Equal("TableWriteProvisionedThroughputExceeded", reason.Reason);
        Assert.Equal(Arn + table, reason.Resource);

        // 100 seconds unused are 500 units of burst.
        await _host.AdvanceClockAsync(TimeSpan.FromSeconds(100));
        (ok, _) = await PutUntilAsync<ProvisionedThroughputExceededException>(client, table, i => "b" + i);
        Assert.InRange(ok, 500, 700);
    }

    [Fact]
    public async Task GsiOutOfWriteCapacity_ThrottlesWritesThatUpdateIt()
    {
        using var client = NoRetries();
        var table = await CreateProvisionedAsync(client, "gsi", 1000, 1000, new GlobalSecondaryIndex
        {
            IndexName = "by-g", KeySchema = [new KeySchemaElement("g", KeyType.HASH)], Projection = new Projection { ProjectionType = ProjectionType.ALL },
            ProvisionedThroughput = new ProvisionedThroughput(1, 1),
        });
        var (ok, error) = await PutUntilAsync<ProvisionedThroughputExceededException>(client, table, i => "k" + i, g: "x");
        Assert.InRange(ok, 1, 60);
        Assert.Equal("The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API",
            error.Message);
        Assert.Equal("IndexWriteProvisionedThroughputExceeded", error.ThrottlingReasons[0].Reason);
        Assert.Equal(Arn + table + "/index/by-g", error.ThrottlingReasons[0].Resource);
        await PutAsync(client, table, "not-indexed");
    }

    [Fact]
    public async Task OnePartitionKey_IsLimited()
    {
        using var client = NoRetries();
        var table = NewName("hot");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table, KeySchema = [new KeySchemaElement("pk", KeyType.HASH)], AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
        });
        var (ok, error) = await PutUntilAsync<ThrottlingException>(client, table, i => "same");
        Assert.InRange(ok, 20, 200);
        Assert.StartsWith("Throughput exceeds the current capacity of your table or index.", error.Message);
        Assert.Equal("TableWriteKeyRangeThroughputExceeded", error.ThrottlingReasons[0].Reason);
        await PutAsync(client, table, "another-key");
    }

    [Fact]
    public async Task OnDemandMaximums_AreEnforced_AndDescribed()
    {
        using var client = NoRetries();
        var table = NewName("od");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table, KeySchema = [new KeySchemaElement("pk", KeyType.HASH)], AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST, OnDemandThroughput = new OnDemandThroughput { MaxReadRequestUnits = 100, MaxWriteRequestUnits = 5 },
        });
        var description = (await client.DescribeTableAsync(table)).Table;
        Assert.Equal(5, description.OnDemandThroughput.MaxWriteRequestUnits);
        Assert.Equal(100, description.OnDemandThroughput.MaxReadRequestUnits);
        Assert.Equal(12000, description.WarmThroughput.ReadUnitsPerSecond);
        Assert.Equal(4000, description.WarmThroughput.WriteUnitsPerSecond);
        Assert.Equal(TableStatus.ACTIVE, description.WarmThroughput.Status);

        var (ok, error) = await PutUntilAsync<ThrottlingException>(client, table, i => "k" + i);
        Assert.InRange(ok, 5, 100);
        Assert.Equal("Throughput exceeds the maximum OnDemandThroughput configured on table or index", error.Message);
        Assert.Equal("TableWriteMaxOnDemandThroughputExceeded", error.ThrottlingReasons[0].Reason);
        Assert.Equal(Arn + table, error.ThrottlingReasons[0].Resource);
    }

    [Fact]
    public async Task Batches_ReturnThrottledItemsUnprocessed()
    {
        using var client = NoRetries();
        var table = await CreateProvisionedAsync(client, "batch", 5, 5);
        var writes = Enumerable.Range(0, 25).Select(i => new WriteRequest(new PutRequest(new() { ["pk"] = new() { S = "k" + i } }))).ToList();
        var response = await client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = new() { [table] = writes } });
        var unprocessed = response.UnprocessedItems[table];
        Assert.InRange(unprocessed.Count, 1, 20);

        var keys = Enumerable.Range(0, 25).Select(i => new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "k" + i } }).ToList();
        var got = await client.BatchGetItemAsync(new BatchGetItemRequest { RequestItems = new() { [table] = new KeysAndAttributes { Keys = keys, ConsistentRead = true } } });
        Assert.InRange(got.UnprocessedKeys[table].Keys.Count, 1, 20);
        // Keys read but never written (their puts came back unprocessed) are simply absent from Responses.
        Assert.InRange(got.Responses[table].Count, 1, 25 - got.UnprocessedKeys[table].Keys.Count);
        var unwritten = unprocessed.Select(w => w.PutRequest.Item["pk"].S).ToHashSet();
        Assert.All(got.Responses[table], item => Assert.DoesNotContain(item["pk"].S, unwritten));

        // A batch of which nothing can be processed is refused.
        await Assert.ThrowsAsync<ProvisionedThroughputExceededException>(async () =>
        {
            for (var i = 0; i < 100; i++) await client.BatchWriteItemAsync(new BatchWriteItemRequest { RequestItems = new() { [table] = unprocessed } });
        });
    }

    [Fact]
    public async Task Transactions_AreThrottledAsAWhole()
    {
        using var client = NoRetries();
        var table = await CreateProvisionedAsync(client, "txn", 5, 5);
        var items = Enumerable.Range(0, 10).Select(i => new TransactWriteItem { Put = new Put { TableName = table, Item = new() { ["pk"] = new() { S = "t" + i } } } }).ToList();
        var error = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = items }));
        var throttled = Assert.Single(error.CancellationReasons, r => r.Code == "ProvisionedThroughputExceeded");
        Assert.Equal(TableMessage, throttled.Message);
        Assert.Equal(0, (await client.ScanAsync(new ScanRequest { TableName = table, Select = Select.COUNT })).Count);
    }

    [Fact]
    public async Task DefaultSdkRetries_SucceedAgainstAThrottledTable()
    {
        using var client = _host.CreateClient();
        var table = await CreateProvisionedAsync(client, "retry", 5, 1);
        using var done = new CancellationTokenSource();

        // First, with the clock still: the table's one unit goes to r0, and r1 is throttled.
        using (var noRetries = NoRetries())
        {
            await PutAsync(noRetries, table, "r0");
            await Assert.ThrowsAsync<ProvisionedThroughputExceededException>(() => PutAsync(noRetries, table, "r1"));
        }

        // Then time moves on while the SDK backs off, as it would against AWS: a second of the host's clock every
        // few milliseconds of ours, so that even the SDK's shortest jittered back-off finds capacity again.
        var clock = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                await Task.Delay(2);
                await _host.AdvanceClockAsync(TimeSpan.FromSeconds(1));
            }
        });
        for (var i = 1; i < 15; i++) await PutAsync(client, table, "r" + i);
        await done.CancelAsync();
        await clock;

        Assert.Equal(15, (await client.ScanAsync(new ScanRequest { TableName = table, Select = Select.COUNT, ConsistentRead = true })).Count);
        var tables = await MetricsAsync();
        var metrics = tables.EnumerateArray().Single(t => t.GetProperty("TableName").GetString() == table);
        Assert.True(metrics.GetProperty("ThrottledRequests").GetInt64() > 0, metrics.GetRawText());
        Assert.Equal(15, metrics.GetProperty("ConsumedWriteCapacityUnits").GetDouble());
        Assert.Equal(1, metrics.GetProperty("ProvisionedWriteCapacityUnits").GetDouble());
        Assert.True(metrics.GetProperty("Minutes").GetArrayLength() >= 1);
    }

    [Fact]
    public async Task Boto3_RetriesOffAndOn()
    {
        var output = await PythonScript.RunWithPathPythonAsync("../Capacity/capacity_boto3.py", _host, new Dictionary<string, string>());
        Assert.Contains("OK", output);
    }

    private async Task<JsonElement> MetricsAsync()
    {
        using var response = await _host.SendAdminAsync(HttpMethod.Get, "/admin/metrics");
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("Tables").Clone();
    }
}
