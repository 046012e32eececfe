using System.Collections.Concurrent;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.GlobalTables;

/// <summary>
/// The cloud's shape: one host per region (<c>--region</c> through <c>Engine__DefaultRegion</c>), each with its own
/// store, finding the other's replication queue on Azurite through <c>GlobalTables__Peers__{region}__Queue</c>.
/// </summary>
public sealed class TwoHostTests
{
    [Fact]
    public async Task OneHostPerRegion_OnAzuriteQueues_ARegionStoppedUnderLoadCatchesUpWithNothingLost()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var east = await HostProcess.StartAsync(Options(azurite, "us-east-1", "eu-west-1"));
        await using var west = await HostProcess.StartAsync(Options(azurite, "eu-west-1", "us-east-1"));
        using var eastClient = east.CreateClient();
        await eastClient.CreateTableAsync(RegionsTests.Schema("orders"));
        for (var i = 0; i < 20; i++) await eastClient.PutItemAsync("orders", GlobalTableTests.Item($"before-{i}", "0"));
        await eastClient.UpdateTableAsync(GlobalTableTests.AddReplica("orders", "eu-west-1"));
        await GlobalTableTests.EventuallyAsync(async () => (await eastClient.DescribeTableAsync("orders")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }],
            TimeSpan.FromSeconds(120));
        using (var westClient = west.CreateClient(c => c.AuthenticationRegion = "eu-west-1"))
        {
            Assert.Equal(20, (await westClient.ScanAsync(new ScanRequest("orders"))).Count);
            Assert.Equal("us-east-1", Assert.Single((await westClient.DescribeTableAsync("orders")).Table.Replicas).RegionName);
        }

        // eu-west-1's host goes away; us-east-1 keeps taking writes, which wait in eu-west-1's queue.
        await west.StopAsync();
        var acknowledged = new ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            using var client = east.CreateClient();
            for (var i = 0; i < 75; i++)
            {
                var key = $"during-{w}-{i}";
                await client.PutItemAsync("orders", GlobalTableTests.Item(key, new string('x', 100)));
                acknowledged.Add(key);
            }
        })));

        await west.RestartAsync();
        using var westAgain = west.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        await GlobalTableTests.EventuallyAsync(async () =>
        {
            var keys = new HashSet<string>();
            Dictionary<string, AttributeValue>? start = null;
            do
            {
                var page = await westAgain.ScanAsync(new ScanRequest("orders") { ExclusiveStartKey = start });
                foreach (var item in page.Items) keys.Add(item["pk"].S);
                start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
            }
            while (start != null);
            return acknowledged.All(keys.Contains) && keys.Count == 20 + 300;
        }, TimeSpan.FromSeconds(120));

        // And the other way, once it is back.
        await westAgain.PutItemAsync("orders", GlobalTableTests.Item("from-west", "1"));
        await GlobalTableTests.EventuallyAsync(async () => (await eastClient.GetItemAsync("orders", GlobalTableTests.Key("from-west"))).IsItemSet, TimeSpan.FromSeconds(120));
    }

    [Fact]
    public async Task AnUnreachableRegion_ShowsRegionDisabled_ThenCatchesUpWhenItIsBack()
    {
        await using var eastStorage = await AzuriteProcess.StartAsync();
        await using var westStorage = await AzuriteProcess.StartAsync();
        var fast = new Dictionary<string, string> { ["GlobalTables__UnreachableSeconds"] = "2", ["GlobalTables__SendTimeoutSeconds"] = "2" };
        await using var east = await HostProcess.StartAsync(Options(eastStorage, "us-east-1", "eu-west-1", westStorage, fast));
        await using var west = await HostProcess.StartAsync(Options(westStorage, "eu-west-1", "us-east-1", eastStorage, fast));
        using var eastClient = east.CreateClient();
        await eastClient.CreateTableAsync(RegionsTests.Schema("far"));
        await eastClient.UpdateTableAsync(GlobalTableTests.AddReplica("far", "eu-west-1"));
        await GlobalTableTests.EventuallyAsync(async () => (await eastClient.DescribeTableAsync("far")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }],
            TimeSpan.FromSeconds(120));

        // eu-west-1's storage stops answering: us-east-1 keeps its writes in its change log and reports the replica.
        await westStorage.PauseAsync();
        try
        {
            for (var i = 0; i < 30; i++) await eastClient.PutItemAsync("far", GlobalTableTests.Item($"while-away-{i}", "1"));
            await GlobalTableTests.EventuallyAsync(async () => (await eastClient.DescribeTableAsync("far")).Table.Replicas is
                [{ ReplicaStatus.Value: "REGION_DISABLED", ReplicaInaccessibleDateTime: not null }], TimeSpan.FromSeconds(60));
        }
        finally
        {
            await westStorage.ResumeAsync();
        }

        await GlobalTableTests.EventuallyAsync(async () => (await eastClient.DescribeTableAsync("far")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }],
            TimeSpan.FromSeconds(120));
        using var westClient = west.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        await GlobalTableTests.EventuallyAsync(async () => (await westClient.ScanAsync(new ScanRequest("far"))).Count == 30, TimeSpan.FromSeconds(120));
    }

    /// <summary>
    /// A region that joined an empty table's group and is killed before anything reaches it: its position in the
    /// group is durable from the moment it joined, so once it is back it sends its own writes and acknowledges the
    /// other region's, which shows it ACTIVE.
    /// </summary>
    [Fact]
    public async Task AReplicaKilledBeforeItsFirstChange_ReplicatesBothWaysAfterItsRestart()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var fast = new Dictionary<string, string> { ["GlobalTables__AckTimeoutSeconds"] = "3" };
        await using var east = await HostProcess.StartAsync(Options(azurite, "us-east-1", "eu-west-1", more: fast));
        await using var west = await HostProcess.StartAsync(Options(azurite, "eu-west-1", "us-east-1", more: fast));
        using var eastClient = east.CreateClient();
        await eastClient.CreateTableAsync(RegionsTests.Schema("empty"));
        await eastClient.UpdateTableAsync(GlobalTableTests.AddReplica("empty", "eu-west-1"));
        await GlobalTableTests.EventuallyAsync(async () => (await eastClient.DescribeTableAsync("empty")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }],
            TimeSpan.FromSeconds(120));

        await west.KillAsync();
        await eastClient.PutItemAsync("empty", GlobalTableTests.Item("from-east", "1"));
        await GlobalTableTests.EventuallyAsync(async () => (await eastClient.DescribeTableAsync("empty")).Table.Replicas is [{ ReplicaStatus.Value: "REGION_DISABLED" }],
            TimeSpan.FromSeconds(120));
        await west.RestartAsync();
        using var westClient = west.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        await GlobalTableTests.EventuallyAsync(async () => (await westClient.GetItemAsync("empty", GlobalTableTests.Key("from-east"))).IsItemSet, TimeSpan.FromSeconds(120));
        await GlobalTableTests.EventuallyAsync(async () => (await eastClient.DescribeTableAsync("empty")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }],
            TimeSpan.FromSeconds(120));
        await westClient.PutItemAsync("empty", GlobalTableTests.Item("from-west", "1"));
        await GlobalTableTests.EventuallyAsync(async () => (await eastClient.GetItemAsync("empty", GlobalTableTests.Key("from-west"))).IsItemSet, TimeSpan.FromSeconds(120));
    }

    internal static HostProcessOptions Options(AzuriteProcess azurite, string region, string peer, AzuriteProcess? peerStorage = null, Dictionary<string, string>? more = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["Engine__DefaultRegion"] = region,
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Engine__Blob__Container"] = $"store-{region}",
            [$"GlobalTables__Peers__{peer}__Queue"] = $"ddb-replication-{peer}",
        };
        if (peerStorage != null) environment[$"GlobalTables__Peers__{peer}__Connection"] = peerStorage.ConnectionString;
        foreach (var (k, v) in more ?? []) environment[k] = v;
        return new HostProcessOptions { Environment = environment };
    }
}
