using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.GlobalTables;

/// <summary>
/// A peer host that is down while its queue still takes messages: it acknowledges nothing, so after the
/// acknowledgement timeout its replica shows REGION_DISABLED; it is ACTIVE again once it is back and has caught up;
/// and a region inaccessible for more than 20 hours leaves the replication group, as AWS documents. The clock of the
/// writing host is moved forward (LocalHost__ClockControl), never slept for.
/// </summary>
public sealed class PeerLivenessTests
{
    [Fact]
    public async Task APeerDownBehindAWorkingQueue_IsRegionDisabled_ActiveWhenBack_AndRemovedAfter20Hours()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var east = await HostProcess.StartAsync(Options(azurite, "us-east-1", "eu-west-1", clock: true));
        await using var west = await HostProcess.StartAsync(Options(azurite, "eu-west-1", "us-east-1", clock: false));
        using var eastClient = east.CreateClient();
        await eastClient.CreateTableAsync(RegionsTests.Schema("alive"));
        await eastClient.UpdateTableAsync(GlobalTableTests.AddReplica("alive", "eu-west-1"));
        await GlobalTableTests.EventuallyAsync(async () => await ReplicasAsync(eastClient) is [{ ReplicaStatus.Value: "ACTIVE" }], TimeSpan.FromSeconds(120));
        await eastClient.PutItemAsync("alive", GlobalTableTests.Item("first", "1"));
        using (var westClient = west.CreateClient(c => c.AuthenticationRegion = "eu-west-1"))
            await GlobalTableTests.EventuallyAsync(async () => (await westClient.GetItemAsync("alive", GlobalTableTests.Key("first"))).IsItemSet, TimeSpan.FromSeconds(120));

        // eu-west-1's host stops; its queue (on the shared Azurite) keeps accepting us-east-1's messages.
        await west.StopAsync();
        for (var i = 0; i < 10; i++) await eastClient.PutItemAsync("alive", GlobalTableTests.Item($"while-down-{i}", "1"));
        await Task.Delay(1500); // let the shipping pass send them (sends succeed: nothing fails but the silence)
        Assert.Equal("ACTIVE", (await ReplicasAsync(eastClient))[0].ReplicaStatus.Value);
        await east.AdvanceClockAsync(TimeSpan.FromSeconds(120));
        await GlobalTableTests.EventuallyAsync(async () => await ReplicasAsync(eastClient) is [{ ReplicaStatus.Value: "REGION_DISABLED", ReplicaInaccessibleDateTime: not null }]);

        // Back: it applies its backlog and acknowledges (ACTIVE again from its first acknowledgement), then has every item.
        await west.RestartAsync();
        await GlobalTableTests.EventuallyAsync(async () => await ReplicasAsync(eastClient) is [{ ReplicaStatus.Value: "ACTIVE", ReplicaInaccessibleDateTime: null }], TimeSpan.FromSeconds(120));
        using (var westClient = west.CreateClient(c => c.AuthenticationRegion = "eu-west-1"))
            await GlobalTableTests.EventuallyAsync(async () => (await westClient.ScanAsync(new ScanRequest("alive") { ConsistentRead = true })).Count == 11, TimeSpan.FromSeconds(120));

        // Down again, for more than 20 hours: the replica leaves us-east-1's group; the table stays, no longer global.
        await west.StopAsync();
        await eastClient.PutItemAsync("alive", GlobalTableTests.Item("last", "1"));
        await Task.Delay(1500);
        await east.AdvanceClockAsync(TimeSpan.FromSeconds(120));
        await GlobalTableTests.EventuallyAsync(async () => await ReplicasAsync(eastClient) is [{ ReplicaStatus.Value: "REGION_DISABLED" }]);
        await east.AdvanceClockAsync(TimeSpan.FromHours(20));
        await GlobalTableTests.EventuallyAsync(async () => await ReplicasAsync(eastClient) is null or { Count: 0 });
        var table = (await eastClient.DescribeTableAsync("alive")).Table;
        Assert.Null(table.GlobalTableVersion);
        Assert.Equal(12, (await eastClient.ScanAsync(new ScanRequest("alive") { ConsistentRead = true })).Count);

        // It comes back without having heard (its queue is emptied of the notice us-east-1 sent), and writes: it
        // still ships to us-east-1, which refuses the write and answers that it is out. Replication has stopped
        // both ways, as AWS stops it: it leaves the group too, and its write is not in us-east-1.
        await new Azure.Storage.Queues.QueueClient(azurite.ConnectionString, "ddb-replication-eu-west-1").ClearMessagesAsync();
        await west.RestartAsync();
        using (var westClient = west.CreateClient(c => c.AuthenticationRegion = "eu-west-1"))
        {
            await westClient.PutItemAsync("alive", GlobalTableTests.Item("west-after-removal", "1"));
            await GlobalTableTests.EventuallyAsync(async () => (await westClient.DescribeTableAsync("alive")).Table is { GlobalTableVersion: null, Replicas: null or { Count: 0 } },
                TimeSpan.FromSeconds(120));
            Assert.Contains("which left the replication group; ignored", east.Output, StringComparison.Ordinal);
            Assert.False((await eastClient.GetItemAsync(new GetItemRequest("alive", GlobalTableTests.Key("west-after-removal")) { ConsistentRead = true })).IsItemSet);
            Assert.Equal(12, (await eastClient.ScanAsync(new ScanRequest("alive") { ConsistentRead = true })).Count);
            Assert.Equal(12, (await westClient.ScanAsync(new ScanRequest("alive") { ConsistentRead = true })).Count); // 11 replicated + its own; "last" never arrived
        }
    }

    private static async Task<List<ReplicaDescription>> ReplicasAsync(Amazon.DynamoDBv2.AmazonDynamoDBClient client) =>
        (await client.DescribeTableAsync("alive")).Table.Replicas;

    private static HostProcessOptions Options(AzuriteProcess azurite, string region, string peer, bool clock)
    {
        var environment = new Dictionary<string, string>
        {
            ["Engine__DefaultRegion"] = region,
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Engine__Blob__Container"] = $"store-{region}",
            [$"GlobalTables__Peers__{peer}__Queue"] = $"ddb-replication-{peer}",
        };
        if (clock) environment["LocalHost__ClockControl"] = "true";
        return new HostProcessOptions { Environment = environment };
    }
}
