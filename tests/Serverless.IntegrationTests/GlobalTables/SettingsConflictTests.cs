using Amazon.DynamoDBv2.Model;

namespace Serverless.IntegrationTests.GlobalTables;

/// <summary>
/// The same synced setting changed at the same moment in two regions: every replica ends with the same value (the
/// later change by its version, microseconds then region), as the last writer wins for items.
/// </summary>
public sealed class SettingsConflictTests
{
    [Fact]
    public async Task TheSameSettingChangedAtOnceInTwoRegions_Converges()
    {
        await using var host = await GlobalTableTests.StartAsync("us-east-1,eu-west-1");
        using var east = host.CreateClient();
        using var west = host.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        await east.CreateTableAsync(RegionsTests.Schema("clash"));
        await east.UpdateTableAsync(GlobalTableTests.AddReplica("clash", "eu-west-1"));
        await GlobalTableTests.EventuallyAsync(async () => (await east.DescribeTableAsync("clash")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }]);

        // TTL turned on at once with a different attribute in each region: both regions end with the same one.
        await Task.WhenAll(
            east.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = "clash", TimeToLiveSpecification = new TimeToLiveSpecification { Enabled = true, AttributeName = "expires_east" } }),
            west.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = "clash", TimeToLiveSpecification = new TimeToLiveSpecification { Enabled = true, AttributeName = "expires_west" } }));
        string? agreed = null;
        await GlobalTableTests.EventuallyAsync(async () =>
        {
            var e = await TtlAsync(east);
            var w = await TtlAsync(west);
            agreed = e;
            return e != null && e == w;
        });
        Assert.Contains(agreed, new[] { "expires_east", "expires_west" });

        // It stays agreed once every message has been applied: a write after it replicates, then both still agree.
        await east.PutItemAsync("clash", GlobalTableTests.Item("barrier", "1"));
        await GlobalTableTests.EventuallyAsync(async () => (await west.GetItemAsync("clash", GlobalTableTests.Key("barrier"))).IsItemSet);
        Assert.Equal(agreed, await TtlAsync(east));
        Assert.Equal(agreed, await TtlAsync(west));
    }

    private static async Task<string?> TtlAsync(Amazon.DynamoDBv2.AmazonDynamoDBClient client)
    {
        var d = (await client.DescribeTimeToLiveAsync("clash")).TimeToLiveDescription;
        return d.TimeToLiveStatus?.Value is "ENABLED" or "ENABLING" ? d.AttributeName : null;
    }
}
