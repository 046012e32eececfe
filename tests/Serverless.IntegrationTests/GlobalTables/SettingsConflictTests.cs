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
        // On a slow machine one region's change may reach the other before its own call is handled: that call is
        // then refused as AWS refuses it, and both regions still end with the one that took.
        var accepted = await Task.WhenAll(EnableTtlAsync(east, "expires_east"), EnableTtlAsync(west, "expires_west"));
        Assert.Contains(true, accepted);
        string? agreed = null;
        await GlobalTableTests.EventuallyAsync(async () =>
        {
            var e = await TtlAsync(east);
            var w = await TtlAsync(west);
            agreed = e;
            return e != null && e == w;
        });
        Assert.Contains(agreed, new[] { "expires_east", "expires_west" });
        if (!accepted[0]) Assert.Equal("expires_west", agreed);
        if (!accepted[1]) Assert.Equal("expires_east", agreed);

        // It stays agreed once every message has been applied: a write after it replicates, then both still agree.
        await east.PutItemAsync("clash", GlobalTableTests.Item("barrier", "1"));
        await GlobalTableTests.EventuallyAsync(async () => (await west.GetItemAsync("clash", GlobalTableTests.Key("barrier"))).IsItemSet);
        Assert.Equal(agreed, await TtlAsync(east));
        Assert.Equal(agreed, await TtlAsync(west));
    }

    /// <summary>True when the region took the change; false when the other region's change had already arrived.</summary>
    private static async Task<bool> EnableTtlAsync(Amazon.DynamoDBv2.AmazonDynamoDBClient client, string attribute)
    {
        try
        {
            await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
            {
                TableName = "clash", TimeToLiveSpecification = new TimeToLiveSpecification { Enabled = true, AttributeName = attribute },
            });
            return true;
        }
        catch (Amazon.DynamoDBv2.AmazonDynamoDBException e) when (e.ErrorCode == "ValidationException" && e.Message == "TimeToLive is already enabled")
        {
            return false;
        }
    }

    private static async Task<string?> TtlAsync(Amazon.DynamoDBv2.AmazonDynamoDBClient client)
    {
        var d = (await client.DescribeTimeToLiveAsync("clash")).TimeToLiveDescription;
        return d.TimeToLiveStatus?.Value is "ENABLED" or "ENABLING" ? d.AttributeName : null;
    }
}
