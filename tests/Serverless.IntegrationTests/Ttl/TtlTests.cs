using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.Infrastructure.ApiAssert;

namespace Serverless.IntegrationTests.Ttl;

/// <summary>Time to live: the API, and expiry by the TtlSweep timer function run by the local host.</summary>
public sealed class TtlTests
{
    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static async Task SweepAsync(HostProcess host)
    {
        using var http = host.CreateHttpClient();
        using var response = await http.PostAsync(host.ServiceUrl + "/admin/functions/TtlSweep", new StringContent("{}"));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
    }

    /// <summary>The table's consumed write capacity units, from the local host's CloudWatch-like metrics.</summary>
    private static async Task<double> ConsumedWritesAsync(HostProcess host, string table)
    {
        using var http = host.CreateHttpClient();
        using var metrics = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/admin/metrics"));
        return metrics.RootElement.GetProperty("Tables").EnumerateArray()
            .Single(t => t.GetProperty("TableName").GetString() == table).GetProperty("ConsumedWriteCapacityUnits").GetDouble();
    }

    private static async Task<string> CreateTableWithIndexAsync(IAmazonDynamoDB client)
    {
        var name = NewName("ttl");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name, BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new("pk", KeyType.HASH)],
            AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("grp", ScalarAttributeType.S)],
            GlobalSecondaryIndexes = [new() { IndexName = "by-grp", KeySchema = [new("grp", KeyType.HASH)], Projection = new() { ProjectionType = ProjectionType.KEYS_ONLY } }],
        });
        return name;
    }

    [Fact]
    public async Task UpdateAndDescribeTimeToLive_WithAwsValidation()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = true });
        using var client = host.CreateClient();
        var table = await CreateAsync(client, "ttlapi");
        var before = await client.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = table });
        Assert.Equal(TimeToLiveStatus.DISABLED, before.TimeToLiveDescription.TimeToLiveStatus);
        Assert.Null(before.TimeToLiveDescription.AttributeName);

        var enabled = await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
        {
            TableName = table, TimeToLiveSpecification = new() { AttributeName = "expires", Enabled = true },
        });
        Assert.True(enabled.TimeToLiveSpecification.Enabled);
        var after = await client.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = table });
        Assert.Equal(TimeToLiveStatus.ENABLED, after.TimeToLiveDescription.TimeToLiveStatus);
        Assert.Equal("expires", after.TimeToLiveDescription.AttributeName);

        await AssertValidationAsync("TimeToLive is already enabled", () => client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
        {
            TableName = table, TimeToLiveSpecification = new() { AttributeName = "other", Enabled = true },
        }));
        await AssertValidationAsync("TimeToLive is active on a different AttributeName: current AttributeName is expires", () => client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
        {
            TableName = table, TimeToLiveSpecification = new() { AttributeName = "other", Enabled = false },
        }));
        await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = table, TimeToLiveSpecification = new() { AttributeName = "expires", Enabled = false } });
        await AssertValidationAsync("TimeToLive is already disabled", () => client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
        {
            TableName = table, TimeToLiveSpecification = new() { AttributeName = "expires", Enabled = false },
        }));
        await AssertValidationAsync("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null",
            () => client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = table }));
        var missing = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = "absent-table" }));
        Assert.Equal("Requested resource not found: Table: absent-table not found", missing.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Sweep_DeletesOnlyExpiredNumberTtls_AndTheirIndexEntries_AndSurvivesRestart(bool onBlobStorage)
    {
        await using var azurite = await Backends.BlobBackend.StartAsync(onBlobStorage);
        // The sweep runs only when the test asks (its default timer, every 10 s, could delete "expired" before the read below).
        await using var host = await HostProcess.StartAsync(Backends.BlobBackend.Options(azurite, new Dictionary<string, string> { ["TtlSweepSchedule"] = "0 0 0 1 1 *" }));
        var client = host.CreateClient();
        var table = await CreateTableWithIndexAsync(client);

        // Written before TTL is enabled: found by the fill that follows enabling.
        await client.PutItemAsync(table, new() { ["pk"] = S("early"), ["grp"] = S("g"), ["exp"] = N((Now - 60).ToString()) });
        await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = table, TimeToLiveSpecification = new() { AttributeName = "exp", Enabled = true } });
        await client.PutItemAsync(table, new() { ["pk"] = S("expired"), ["grp"] = S("g"), ["exp"] = N((Now - 5).ToString()) });
        await client.PutItemAsync(table, new() { ["pk"] = S("fraction"), ["grp"] = S("g"), ["exp"] = N((Now - 5) + ".75") });
        await client.PutItemAsync(table, new() { ["pk"] = S("future"), ["grp"] = S("g"), ["exp"] = N((Now + 3600).ToString()) });
        await client.PutItemAsync(table, new() { ["pk"] = S("string"), ["grp"] = S("g"), ["exp"] = S((Now - 5).ToString()) });
        await client.PutItemAsync(table, new() { ["pk"] = S("ancient"), ["grp"] = S("g"), ["exp"] = N((Now - (6L * 365 * 86400)).ToString()) });
        await client.PutItemAsync(table, new() { ["pk"] = S("none"), ["grp"] = S("g") });
        await client.PutItemAsync(table, new() { ["pk"] = S("renewed"), ["grp"] = S("g"), ["exp"] = N((Now - 5).ToString()) });
        await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table, Key = Key("renewed"), UpdateExpression = "SET #e = :e", ExpressionAttributeNames = new() { ["#e"] = "exp" },
            ExpressionAttributeValues = new() { [":e"] = N((Now + 3600).ToString()) },
        });

        // Reads before the sweep still see expired items, as on AWS.
        Assert.True((await client.GetItemAsync(table, Key("expired"))).IsItemSet);

        // Nine user writes consumed one write unit each; the sweep's deletes consume none.
        var writesBeforeSweep = await ConsumedWritesAsync(host, table);
        Assert.Equal(9, writesBeforeSweep);

        string[] remaining = ["ancient", "future", "none", "renewed", "string"];
        var deadline = DateTime.UtcNow.AddSeconds(20);
        List<string> live;
        do
        {
            await SweepAsync(host);
            live = [.. (await ScanAllAsync(client, new ScanRequest { TableName = table })).Select(i => i["pk"].S).Order()];
        }
        while (!live.SequenceEqual(remaining) && DateTime.UtcNow < deadline);
        Assert.Equal(remaining, live);
        Assert.Equal(writesBeforeSweep, await ConsumedWritesAsync(host, table));
        var indexed = await ScanAllAsync(client, new ScanRequest { TableName = table, IndexName = "by-grp" });
        Assert.Equal(remaining, indexed.Select(i => i["pk"].S).Order());

        // After a crash the expiry index is rebuilt from the items.
        await client.PutItemAsync(table, new() { ["pk"] = S("soon"), ["grp"] = S("g"), ["exp"] = N((Now + 1).ToString()) });
        client.Dispose();
        await host.KillAsync();
        await host.RestartAsync();
        using var after = host.CreateClient();
        Assert.True((await after.GetItemAsync(table, Key("soon"))).IsItemSet);
        deadline = DateTime.UtcNow.AddSeconds(20);
        do
        {
            await Task.Delay(500);
            await SweepAsync(host);
        }
        while ((await after.GetItemAsync(table, Key("soon"))).IsItemSet && DateTime.UtcNow < deadline);
        Assert.False((await after.GetItemAsync(table, Key("soon"))).IsItemSet);
        Assert.Equal(TimeToLiveStatus.ENABLED, (await after.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = table })).TimeToLiveDescription.TimeToLiveStatus);
    }

    [Fact]
    public async Task ScheduledSweep_ExpiresItemsWithoutBeingAsked()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            InMemory = true, Environment = new Dictionary<string, string> { ["TtlSweepSchedule"] = "*/1 * * * * *" },
        });
        Assert.Contains("function TtlSweep: timer */1 * * * * *", host.Output);
        using var client = host.CreateClient();
        var table = await CreateAsync(client, "ttlsched");
        await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = table, TimeToLiveSpecification = new() { AttributeName = "exp", Enabled = true } });
        await client.PutItemAsync(table, new() { ["pk"] = S("x"), ["exp"] = N((Now - 1).ToString()) });
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while ((await client.GetItemAsync(table, Key("x"))).IsItemSet)
        {
            Assert.True(DateTime.UtcNow < deadline, "the scheduled sweep did not delete the expired item");
            await Task.Delay(200);
        }
    }
}
