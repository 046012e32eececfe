using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.AutoScaling;

/// <summary>
/// Scalable targets, policies and activities live in the catalog, so they survive a restart, in the data directory
/// and in blob storage alike; after the restart the policies go on scaling.
/// </summary>
public sealed class AutoScalingDurabilityTests
{
    private const string Write = "dynamodb:table:WriteCapacityUnits";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TargetsPoliciesAndActivities_SurviveARestart_AndKeepScaling(bool onBlobStorage)
    {
        await using var azurite = onBlobStorage ? await AzuriteProcess.StartAsync() : null;
        await using var host = await AutoScalingHost.StartAsync(azurite);
        var table = await host.CreateTableAsync("asdurable", rcu: 5, wcu: 2);
        var resource = "table/" + table;
        await host.RegisterWithPolicyAsync(resource, Write, min: 4, max: 40, target: 50, scaleOutCooldown: 30);
        Assert.Equal(4, (await host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        var before = await DescribeAllAsync(host, resource);

        await host.RestartAsync();
        var after = await DescribeAllAsync(host, resource);
        Assert.Equal(before, after);
        Assert.Contains("minimum capacity was set to 4", after);
        Assert.Contains("\"ScaleOutCooldown\": 30", after);

        // The alarms start again from no data: the first evaluation samples, the next two minutes breach.
        await host.EvaluateAsync();
        await host.MinuteAsync(() => host.WriteAsync(table, 230));
        await host.MinuteAsync(() => host.WriteAsync(table, 230));
        Assert.Equal(8, (await host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal(2, (await host.ActivitiesAsync(resource)).Length);
    }

    private static async Task<string> DescribeAllAsync(AutoScalingHost host, string resource)
    {
        var r = await host.CallAsync(
            ("describe_scalable_targets", new { ServiceNamespace = "dynamodb", ResourceIds = new[] { resource } }),
            ("describe_scaling_policies", new { ServiceNamespace = "dynamodb", ResourceId = resource }),
            ("describe_scaling_activities", new { ServiceNamespace = "dynamodb", ResourceId = resource }));
        Assert.Single(r[0].GetProperty("ScalableTargets").EnumerateArray());
        Assert.Single(r[1].GetProperty("ScalingPolicies").EnumerateArray());
        Assert.Single(r[2].GetProperty("ScalingActivities").EnumerateArray());
        return string.Join("\n", r.Select(e => System.Text.Json.JsonSerializer.Serialize(e, Indented)));
    }

    private static readonly System.Text.Json.JsonSerializerOptions Indented = new() { WriteIndented = true };
}
