using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Cache;

/// <summary>
/// With the store in blob storage (a real Azurite), the DAX control plane's clusters and parameter groups live in the
/// container too: a fresh instance with an empty data directory, after a SIGKILL of the first, still serves them.
/// </summary>
public sealed class DaxBlobTests
{
    [Fact]
    public async Task FreshInstance_AfterSigkillAndLostDisk_HasTheClustersAndParameterGroups()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var storage = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Engine__Blob__LeaseSeconds"] = "15",
            ["Engine__Blob__Standby"] = "true",
        };
        await using (var first = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage }))
        {
            await Dax.CreateParameterGroupAsync(first, "short-ttl", ("record-ttl-millis", "60000"));
            await Dax.CreateClusterAsync(first, "kept", "short-ttl");
            await first.KillAsync();
        }

        await using var second = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage, StartTimeout = TimeSpan.FromSeconds(120) });
        var clusters = await Dax.CallAsync(second, "DescribeClusters", new { ClusterNames = new[] { "kept" } });
        var cluster = clusters.GetProperty("Clusters")[0];
        Assert.Equal("kept", cluster.GetProperty("ClusterName").GetString());
        Assert.Equal("short-ttl", cluster.GetProperty("ParameterGroup").GetProperty("ParameterGroupName").GetString());
        var parameters = await Dax.CallAsync(second, "DescribeParameters", new { ParameterGroupName = "short-ttl" });
        Assert.Contains(parameters.GetProperty("Parameters").EnumerateArray(),
            p => p.GetProperty("ParameterName").GetString() == "record-ttl-millis" && p.GetProperty("ParameterValue").GetString() == "60000");
    }
}
