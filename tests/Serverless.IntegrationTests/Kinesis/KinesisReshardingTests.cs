using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Kinesis;

/// <summary>Kinesis resharding (SplitShard, MergeShards, UpdateShardCount, ShardFilter) through boto3: <c>kinesis_resharding_test.py</c>.</summary>
public sealed class KinesisReshardingTests
{
    [Fact]
    public async Task Resharding_ThroughBoto3()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["LocalHost__ClockControl"] = "true" },
        });
        var output = await PythonScript.RunWithPathPythonAsync("../Kinesis/kinesis_resharding_test.py", host, new Dictionary<string, string>());
        Assert.Contains("OK", output);
        Assert.Contains("test_no_acknowledged_record_is_lost_while_a_split_runs", output);
        Assert.Contains("test_uniform_scaling_up_and_down_keeps_every_record_in_lineage_order", output);
    }
}
