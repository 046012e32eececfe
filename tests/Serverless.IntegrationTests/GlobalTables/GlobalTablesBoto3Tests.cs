using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.GlobalTables;

/// <summary>Global tables through boto3 (<c>Clients/global_tables_test.py</c>): replica streams and TTL userIdentity per region.</summary>
public sealed class GlobalTablesBoto3Tests
{
    [Fact]
    public async Task ReplicaStreamsAndTtlDeletes_ThroughBoto3()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["LocalHost__Regions"] = "us-east-1,eu-west-1", ["TtlSweepSchedule"] = "*/1 * * * * *" },
        });
        var output = await PythonScript.RunAsync("global_tables_test.py", host);
        Assert.Contains("OK", output);
        Assert.Contains("test_replica_streams_and_ttl", output);
    }
}
