using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;

namespace Serverless.IntegrationTests.AutoScaling;

/// <summary>One host for the auto scaling scenarios; each test has its own tables, so they share its clock harmlessly.</summary>
public sealed class AutoScalingFixture : IAsyncLifetime
{
    private AutoScalingHost? _host;

    internal AutoScalingHost Host => _host ?? throw new InvalidOperationException("The host has not started.");

    public async Task InitializeAsync() => _host = await AutoScalingHost.StartAsync();

    public async Task DisposeAsync()
    {
        if (_host != null) await _host.DisposeAsync();
    }
}

/// <summary>
/// Application Auto Scaling for DynamoDB through boto3's <c>application-autoscaling</c> client, with real load sent
/// through the AWS SDK for .NET, the host's clock advanced a minute at a time and the AutoScaling function run after
/// each minute, as CloudWatch evaluates the target tracking alarms.
/// </summary>
public sealed class AutoScalingTests(AutoScalingFixture fixture) : IClassFixture<AutoScalingFixture>
{
    private const string Write = "dynamodb:table:WriteCapacityUnits";
    private const string IndexRead = "dynamodb:index:ReadCapacityUnits";

    private AutoScalingHost Host => fixture.Host;

    [Fact]
    public async Task SustainedLoad_ScalesOutAfterTwoMinutes_AndInAfterFifteenQuietMinutes()
    {
        var table = await Host.CreateTableAsync("asout", rcu: 5, wcu: 5);
        var resource = "table/" + table;
        await Host.RegisterWithPolicyAsync(resource, Write, min: 5, max: 50, target: 50);

        // 240 WCU a minute is 4 WCU/s: 80 % of 5, above the 50 % target. One breaching minute is not enough (AlarmHigh needs 2).
        Assert.Equal(240, await Host.MinuteAsync(() => Host.WriteAsync(table, 240)));
        Assert.Equal(5, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        Assert.Empty(await Host.ActivitiesAsync(resource));

        // The second minute: capacity = consumption / target utilization = 4 / 0.5.
        Assert.Equal(240, await Host.MinuteAsync(() => Host.WriteAsync(table, 240)));
        var described = await Host.DescribeAsync(table);
        Assert.Equal(8, described.ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal(5, described.ProvisionedThroughput.ReadCapacityUnits);
        var activity = Assert.Single(await Host.ActivitiesAsync(resource));
        Assert.Equal("Setting write capacity units to 8.", activity.GetProperty("Description").GetString());
        Assert.Equal("Successfully set write capacity units to 8. Change successfully fulfilled by dynamodb.", activity.GetProperty("StatusMessage").GetString());
        Assert.Equal("Successful", activity.GetProperty("StatusCode").GetString());
        Assert.Equal(resource, activity.GetProperty("ResourceId").GetString());
        Assert.Equal(Write, activity.GetProperty("ScalableDimension").GetString());
        Assert.Equal("dynamodb", activity.GetProperty("ServiceNamespace").GetString());
        Assert.True(Guid.TryParse(activity.GetProperty("ActivityId").GetString(), out _));
        Assert.True(activity.GetProperty("EndTime").GetDouble() >= activity.GetProperty("StartTime").GetDouble());
        var high = await AlarmAsync(resource, "AlarmHigh");
        Assert.Equal($"monitor alarm {high} in state ALARM triggered policy tracking", activity.GetProperty("Cause").GetString());

        // Scale-in waits for 15 datapoints below target − 20 %: 14 quiet minutes still include a busy one.
        await Host.QuietAsync(14);
        Assert.Equal(8, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        await Host.QuietAsync(1);
        described = await Host.DescribeAsync(table);
        Assert.Equal(5, described.ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal(1, described.ProvisionedThroughput.NumberOfDecreasesToday);
        var activities = await Host.ActivitiesAsync(resource);
        Assert.Equal(2, activities.Length);
        Assert.Equal("Setting write capacity units to 5.", activities[0].GetProperty("Description").GetString());
        Assert.Equal($"monitor alarm {await AlarmAsync(resource, "AlarmLow")} in state ALARM triggered policy tracking", activities[0].GetProperty("Cause").GetString());
        Assert.True(activities[0].GetProperty("StartTime").GetDouble() > activities[1].GetProperty("StartTime").GetDouble());
    }

    [Fact]
    public async Task MinAndMax_MoveCapacityAtRegistration_AndCapScaleOut()
    {
        var table = await Host.CreateTableAsync("asbounds", rcu: 1, wcu: 1);
        var resource = "table/" + table;
        var register = (long? min, long? max) => Host.CallAsync("register_scalable_target", min is { } lo && max is { } hi
            ? new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write, MinCapacity = lo, MaxCapacity = hi }
            : (object)new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write, MaxCapacity = max!.Value });

        var arn = (await register(3, 10)).GetProperty("ScalableTargetARN").GetString()!;
        Assert.Matches("^arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/[0-9a-f]{36}$", arn);
        Assert.Equal(3, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        var raised = Assert.Single(await Host.ActivitiesAsync(resource));
        Assert.Equal("minimum capacity was set to 3", raised.GetProperty("Cause").GetString());
        Assert.Equal("Setting write capacity units to 3.", raised.GetProperty("Description").GetString());

        // Registering again updates the target (same ARN) and lowers the capacity to the new maximum.
        Assert.Equal(arn, (await register(1, 2)).GetProperty("ScalableTargetARN").GetString());
        Assert.Equal(2, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal("maximum capacity was set to 2", (await Host.ActivitiesAsync(resource))[0].GetProperty("Cause").GetString());

        // Only MaxCapacity: MinCapacity stays 1. The load asks for ceil(1.8 / 0.2) = 10 units; the maximum allows 4.
        await register(null, 4);
        await Host.RegisterWithPolicyAsync(resource, Write, min: 1, max: 4, target: 20);
        await Host.MinuteAsync(() => Host.WriteAsync(table, 110));
        await Host.MinuteAsync(() => Host.WriteAsync(table, 110));
        Assert.Equal(4, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal("Setting write capacity units to 4.", (await Host.ActivitiesAsync(resource))[0].GetProperty("Description").GetString());
        var target = Assert.Single((await Host.CallAsync("describe_scalable_targets", new { ServiceNamespace = "dynamodb", ResourceIds = new[] { resource } }))
            .GetProperty("ScalableTargets").EnumerateArray());
        Assert.Equal(1, target.GetProperty("MinCapacity").GetInt64());
        Assert.Equal(4, target.GetProperty("MaxCapacity").GetInt64());

        // At the maximum, more load changes nothing.
        var count = (await Host.ActivitiesAsync(resource)).Length;
        await Host.MinuteAsync(() => Host.WriteAsync(table, 230));
        await Host.MinuteAsync(() => Host.WriteAsync(table, 230));
        Assert.Equal(4, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal(count, (await Host.ActivitiesAsync(resource)).Length);
    }

    /// <summary>A change UpdateTable refuses is a Failed activity carrying UpdateTable's reason; the capacity stays.</summary>
    [Fact]
    public async Task ChangeThatUpdateTableRefuses_IsAFailedActivity()
    {
        var table = await Host.CreateTableAsync("asfail", rcu: 5, wcu: 5);
        var resource = "table/" + table;
        var r = await Host.CallAsync("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write, MinCapacity = 0, MaxCapacity = 0 });
        Assert.True(r.TryGetProperty("ScalableTargetARN", out _), r.ToString());
        Assert.Equal(5, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        var activity = Assert.Single(await Host.ActivitiesAsync(resource));
        Assert.Equal("Failed", activity.GetProperty("StatusCode").GetString());
        Assert.Equal("Setting write capacity units to 0.", activity.GetProperty("Description").GetString());
        Assert.Equal("maximum capacity was set to 0", activity.GetProperty("Cause").GetString());
        Assert.Equal("Failed to set write capacity units to 0. Reason: 1 validation error detected: Value '0' at 'provisionedThroughput.writeCapacityUnits' "
            + "failed to satisfy constraint: Member must have value greater than or equal to 1", activity.GetProperty("StatusMessage").GetString());
    }

    [Fact]
    public async Task Cooldowns_OnlyALargerScaleOutRunsDuringScaleOutCooldown_AndScaleInWaitsForScaleInCooldown()
    {
        var table = await Host.CreateTableAsync("ascool", rcu: 5, wcu: 10);
        var resource = "table/" + table;
        await Host.RegisterWithPolicyAsync(resource, Write, min: 1, max: 100, target: 50, scaleOutCooldown: 600, scaleInCooldown: 1800);

        // 6 WCU/s on 10: out to 12.
        await Host.MinuteAsync(() => Host.WriteAsync(table, 360));
        await Host.MinuteAsync(() => Host.WriteAsync(table, 360));
        Assert.Equal(12, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);

        // The same load on 12 is at the target: nothing to do, cooldown or not.
        await Host.MinuteAsync(() => Host.WriteAsync(table, 360));
        await Host.MinuteAsync(() => Host.WriteAsync(table, 360));
        Assert.Equal(12, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);

        // Within the 600 s scale-out cooldown a larger scale-out still runs (9 WCU/s: 18 units), as AWS documents.
        await Host.MinuteAsync(() => Host.WriteAsync(table, 540));
        await Host.MinuteAsync(() => Host.WriteAsync(table, 540));
        Assert.Equal(18, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        var outs = await Host.ActivitiesAsync(resource);
        Assert.Equal(2, outs.Length);
        Assert.InRange(outs[0].GetProperty("StartTime").GetDouble() - outs[1].GetProperty("StartTime").GetDouble(), 1, 600);

        // 15 minutes at 2 WCU/s (below 30 % of 18): in to ceil(2 / 0.5) = 4.
        await Host.Host.AdvanceClockAsync(TimeSpan.FromMinutes(15));
        await Host.WriteAsync(table, 1800);
        await Host.EvaluateAsync();
        Assert.Equal(4, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);

        // AlarmLow is in ALARM again after 15 quiet minutes, but the 1800 s scale-in cooldown holds the capacity.
        await Host.QuietAsync(15);
        Assert.Equal(4, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal(3, (await Host.ActivitiesAsync(resource)).Length);

        // Once it has passed, the next evaluation scales in to the minimum.
        await Host.QuietAsync(15);
        Assert.Equal(1, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        var activities = await Host.ActivitiesAsync(resource);
        Assert.Equal(new[] { "Setting write capacity units to 1.", "Setting write capacity units to 4.", "Setting write capacity units to 18.", "Setting write capacity units to 12." },
            activities.Select(a => a.GetProperty("Description").GetString()));
    }

    [Fact]
    public async Task DisableScaleIn_AndSuspendedScaleOut_HoldTheCapacity()
    {
        var table = await Host.CreateTableAsync("ashold", rcu: 5, wcu: 5);
        var resource = "table/" + table;
        var r = await Host.CallAsync(
            ("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write, MinCapacity = 1, MaxCapacity = 50 }),
            ("put_scaling_policy", new
            {
                PolicyName = "noscalein", ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write, PolicyType = "TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration = new
                {
                    TargetValue = 50.0, DisableScaleIn = true, PredefinedMetricSpecification = new { PredefinedMetricType = "DynamoDBWriteCapacityUtilization" },
                },
            }));
        Assert.All(r, x => Assert.False(x.TryGetProperty("Error", out _), x.ToString()));
        await Host.MinuteAsync(() => Host.WriteAsync(table, 240));
        await Host.MinuteAsync(() => Host.WriteAsync(table, 240));
        Assert.Equal(8, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);

        // AlarmLow goes into ALARM after 15 quiet minutes, but the policy may not scale in.
        await Host.QuietAsync(16);
        Assert.Equal(8, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);

        // With dynamic scale-out suspended, breaching load changes nothing either; the state is reported.
        var suspended = await Host.CallAsync(
            ("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write, SuspendedState = new { DynamicScalingOutSuspended = true } }),
            ("describe_scalable_targets", new { ServiceNamespace = "dynamodb", ResourceIds = new[] { resource } }));
        var state = suspended[1].GetProperty("ScalableTargets")[0].GetProperty("SuspendedState");
        Assert.True(state.GetProperty("DynamicScalingOutSuspended").GetBoolean());
        Assert.False(state.GetProperty("DynamicScalingInSuspended").GetBoolean());
        await Host.MinuteAsync(() => Host.WriteAsync(table, 420));
        await Host.MinuteAsync(() => Host.WriteAsync(table, 420));
        Assert.Equal(8, (await Host.DescribeAsync(table)).ProvisionedThroughput.WriteCapacityUnits);
        Assert.Single(await Host.ActivitiesAsync(resource));
    }

    [Fact]
    public async Task IndexTarget_ScalesTheGlobalIndexReadCapacity_NotTheTable()
    {
        var table = await Host.CreateTableAsync("asindex", rcu: 5, wcu: 50, index: "byG", indexRcu: 10, indexWcu: 50);
        var resource = $"table/{table}/index/byG";
        await Host.Host.AdvanceClockAsync(TimeSpan.FromMinutes(1));
        for (var i = 0; i < 20; i++)
            await Host.Client.PutItemAsync(table, new() { ["pk"] = new($"i{i}"), ["g"] = new("hot"), ["payload"] = new(new string('x', 3900)) });
        await Host.RegisterWithPolicyAsync(resource, IndexRead, min: 5, max: 100, target: 50);

        // 48 queries of 20 items (about 78 KB: 10 RCU each, eventually consistent) a minute: 8 RCU/s on the index's 10.
        async Task<double> QueriesAsync()
        {
            double units = 0;
            for (var q = 0; q < 48; q++)
            {
                var r = await Host.Client.QueryAsync(new QueryRequest
                {
                    TableName = table, IndexName = "byG", KeyConditionExpression = "g = :g",
                    ExpressionAttributeValues = new() { [":g"] = new("hot") }, ReturnConsumedCapacity = Amazon.DynamoDBv2.ReturnConsumedCapacity.INDEXES,
                });
                Assert.Equal(20, r.Count);
                units += r.ConsumedCapacity.GlobalSecondaryIndexes["byG"].CapacityUnits ?? 0;
            }

            return units;
        }

        var consumed = await Host.MinuteAsync(QueriesAsync);
        consumed = Math.Max(consumed, await Host.MinuteAsync(QueriesAsync));
        var expected = (long)Math.Ceiling(consumed / 60 / 0.5);
        var described = await Host.DescribeAsync(table);
        var index = Assert.Single(described.GlobalSecondaryIndexes);
        Assert.InRange(index.ProvisionedThroughput.ReadCapacityUnits ?? 0, expected - 1, expected);
        Assert.True(index.ProvisionedThroughput.ReadCapacityUnits > 10);
        Assert.Equal(5, described.ProvisionedThroughput.ReadCapacityUnits);
        Assert.Equal(50, index.ProvisionedThroughput.WriteCapacityUnits);
        var activity = Assert.Single(await Host.ActivitiesAsync(resource));
        Assert.Equal(IndexRead, activity.GetProperty("ScalableDimension").GetString());
        Assert.Equal(resource, activity.GetProperty("ResourceId").GetString());
        Assert.Equal($"Setting read capacity units to {index.ProvisionedThroughput.ReadCapacityUnits}.", activity.GetProperty("Description").GetString());
        Assert.StartsWith($"monitor alarm TargetTracking-{resource}-AlarmHigh-", activity.GetProperty("Cause").GetString());
        Assert.Empty(await Host.ActivitiesAsync("table/" + table));
    }

    [Fact]
    public async Task TargetsAndPolicies_DescribeFilterPageAndDelete()
    {
        var table = await Host.CreateTableAsync("aslife", rcu: 5, wcu: 5);
        var resource = "table/" + table;
        await Host.RegisterWithPolicyAsync(resource, Write, min: 5, max: 20, target: 70, scaleOutCooldown: 60);
        await Host.RegisterWithPolicyAsync(resource, "dynamodb:table:ReadCapacityUnits", min: 5, max: 30, target: 40);
        var r = await Host.CallAsync(
            ("describe_scalable_targets", new { ServiceNamespace = "dynamodb", ResourceIds = new[] { resource } }),
            ("describe_scalable_targets", new { ServiceNamespace = "dynamodb", ResourceIds = new[] { resource }, ScalableDimension = Write }),
            ("describe_scalable_targets", new { ServiceNamespace = "dynamodb", ResourceIds = new[] { resource }, MaxResults = 1 }),
            ("describe_scaling_policies", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write }),
            ("describe_scaling_policies", new { ServiceNamespace = "ecs" }));
        Assert.Equal(2, r[0].GetProperty("ScalableTargets").GetArrayLength());
        var write = Assert.Single(r[1].GetProperty("ScalableTargets").EnumerateArray());
        Assert.Equal(20, write.GetProperty("MaxCapacity").GetInt64());
        Assert.Equal(JsonValueKind.False, write.GetProperty("SuspendedState").GetProperty("DynamicScalingInSuspended").ValueKind);
        Assert.EndsWith("AWSServiceRoleForApplicationAutoScaling_DynamoDBTable", write.GetProperty("RoleARN").GetString());
        Assert.Equal(1, r[2].GetProperty("ScalableTargets").GetArrayLength());
        var next = r[2].GetProperty("NextToken").GetString()!;
        var policy = Assert.Single(r[3].GetProperty("ScalingPolicies").EnumerateArray());
        Assert.Matches($"^arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:[0-9a-f-]{{36}}:resource/dynamodb/{resource}:policyName/tracking$", policy.GetProperty("PolicyARN").GetString());
        Assert.Equal("TargetTrackingScaling", policy.GetProperty("PolicyType").GetString());
        var config = policy.GetProperty("TargetTrackingScalingPolicyConfiguration");
        Assert.Equal(70, config.GetProperty("TargetValue").GetDouble());
        Assert.Equal(60, config.GetProperty("ScaleOutCooldown").GetInt32());
        Assert.Equal("DynamoDBWriteCapacityUtilization", config.GetProperty("PredefinedMetricSpecification").GetProperty("PredefinedMetricType").GetString());
        Assert.Equal(new[] { "AlarmHigh", "AlarmLow", "ProvisionedCapacityHigh", "ProvisionedCapacityLow" },
            policy.GetProperty("Alarms").EnumerateArray().Select(a => a.GetProperty("AlarmName").GetString()!.Split('-')[^6]));
        Assert.Empty(r[4].GetProperty("ScalingPolicies").EnumerateArray());

        r = await Host.CallAsync(
            ("describe_scalable_targets", new { ServiceNamespace = "dynamodb", ResourceIds = new[] { resource }, MaxResults = 1, NextToken = next }),
            ("delete_scaling_policy", new { PolicyName = "tracking", ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write }),
            ("describe_scaling_policies", new { ServiceNamespace = "dynamodb", ResourceId = resource }),
            ("deregister_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = "dynamodb:table:ReadCapacityUnits" }),
            ("describe_scaling_policies", new { ServiceNamespace = "dynamodb", ResourceId = resource }),
            ("describe_scalable_targets", new { ServiceNamespace = "dynamodb", ResourceIds = new[] { resource } }));
        Assert.Equal(1, r[0].GetProperty("ScalableTargets").GetArrayLength());
        Assert.False(r[0].TryGetProperty("NextToken", out _));
        Assert.NotEqual(write.GetProperty("ScalableDimension").GetString(), r[0].GetProperty("ScalableTargets")[0].GetProperty("ScalableDimension").GetString());
        var remaining = Assert.Single(r[2].GetProperty("ScalingPolicies").EnumerateArray());
        Assert.Equal("dynamodb:table:ReadCapacityUnits", remaining.GetProperty("ScalableDimension").GetString());
        Assert.Empty(r[4].GetProperty("ScalingPolicies").EnumerateArray());
        Assert.Equal(Write, Assert.Single(r[5].GetProperty("ScalableTargets").EnumerateArray()).GetProperty("ScalableDimension").GetString());
    }

    [Fact]
    public async Task InvalidRequests_FailWithApplicationAutoScalingErrors()
    {
        var table = await Host.CreateTableAsync("asbad", rcu: 5, wcu: 5);
        var resource = "table/" + table;
        var onDemand = $"asdemand{Guid.NewGuid():N}"[..20];
        await Host.Client.CreateTableAsync(new CreateTableRequest
        {
            TableName = onDemand, KeySchema = [new("pk", Amazon.DynamoDBv2.KeyType.HASH)], AttributeDefinitions = [new("pk", Amazon.DynamoDBv2.ScalarAttributeType.S)],
            BillingMode = Amazon.DynamoDBv2.BillingMode.PAY_PER_REQUEST,
        });
        object Policy(string dimension, double target, string metric = "DynamoDBWriteCapacityUtilization", string type = "TargetTrackingScaling") => new
        {
            PolicyName = "p", ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = dimension, PolicyType = type,
            TargetTrackingScalingPolicyConfiguration = new { TargetValue = target, PredefinedMetricSpecification = new { PredefinedMetricType = metric } },
        };
        var r = await Host.CallAsync(
            ("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = "dynamodb:index:ReadCapacityUnits", MinCapacity = 1, MaxCapacity = 5 }),
            ("register_scalable_target", new { ServiceNamespace = "ecs", ResourceId = resource, ScalableDimension = Write, MinCapacity = 1, MaxCapacity = 5 }),
            ("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = "table/nosuchtable", ScalableDimension = Write, MinCapacity = 1, MaxCapacity = 5 }),
            ("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write, MaxCapacity = 5 }),
            ("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write, MinCapacity = 9, MaxCapacity = 5 }),
            ("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = "table/" + onDemand, ScalableDimension = Write, MinCapacity = 1, MaxCapacity = 5 }),
            ("put_scaling_policy", Policy(Write, 50)),
            ("delete_scaling_policy", new { PolicyName = "p", ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write }),
            ("deregister_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write }),
            ("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resource, ScalableDimension = Write, MinCapacity = 1, MaxCapacity = 5 }),
            ("put_scaling_policy", Policy(Write, 10)),
            ("put_scaling_policy", Policy(Write, 95)),
            ("put_scaling_policy", Policy(Write, 50, metric: "DynamoDBReadCapacityUtilization")),
            ("put_scaling_policy", Policy(Write, 50, type: "StepScaling")),
            ("describe_scalable_targets", new { ServiceNamespace = "nosuchservice" }),
            ("put_scaling_policy", Policy(Write, 20)));

        void Fails(int i, string code, string message)
        {
            Assert.True(r[i].TryGetProperty("Error", out var error), $"call {i} succeeded: {r[i]}");
            Assert.Equal(400, r[i].GetProperty("HTTPStatus").GetInt32());
            Assert.Equal(code, error.GetProperty("Code").GetString());
            Assert.Equal(message, error.GetProperty("Message").GetString());
        }

        const string Unsupported = "Unsupported service namespace, resource type or scalable dimension";
        Fails(0, "ValidationException", Unsupported);
        Fails(1, "ValidationException", Unsupported);
        Fails(2, "ValidationException", "DynamoDB resource table/nosuchtable does not exist");
        Fails(3, "ValidationException", "MinCapacity and MaxCapacity are required for registering a new scalable target");
        Fails(4, "ValidationException", "Minimum capacity 9 cannot be greater than maximum capacity 5");
        Fails(5, "ValidationException", $"Scalable target for table/{onDemand} cannot be registered because the table uses on-demand capacity mode (PAY_PER_REQUEST)");
        Fails(6, "ObjectNotFoundException", $"No scalable target registered for service namespace: dynamodb, resource ID: {resource}, scalable dimension: {Write}");
        Fails(7, "ObjectNotFoundException", $"No scaling policy found for service namespace: dynamodb, resource ID: {resource}, scalable dimension: {Write}, policy name: p");
        Fails(8, "ObjectNotFoundException", $"No scalable target found for service namespace: dynamodb, resource ID: {resource}, scalable dimension: {Write}");
        Assert.False(r[9].TryGetProperty("Error", out _));
        Fails(10, "ValidationException", "The target value 10 is out of range: TargetValue must be between 20.0 and 90.0 for DynamoDB");
        Fails(11, "ValidationException", "The target value 95 is out of range: TargetValue must be between 20.0 and 90.0 for DynamoDB");
        Fails(12, "ValidationException", $"Predefined metric type DynamoDBReadCapacityUtilization is not supported for scalable dimension {Write}");
        Fails(13, "ValidationException", "StepScaling policies are not supported for DynamoDB");
        Fails(14, "ValidationException", "1 validation error detected: Value 'nosuchservice' at 'serviceNamespace' failed to satisfy constraint: Member must satisfy enum value set: "
            + "[ecs, elasticmapreduce, ec2, appstream, dynamodb, rds, sagemaker, custom-resource, comprehend, lambda, cassandra, kafka, elasticache, neptune, workspaces]");
        Assert.True(r[15].TryGetProperty("PolicyARN", out _), r[15].ToString());
    }

    /// <summary>The wire shape of an error: JSON 1.1, the bare error name in <c>__type</c>, the text in <c>Message</c>.</summary>
    [Fact]
    public async Task Errors_CarryTheBareTypeAndMessageOnJson11()
    {
        using var http = Host.Host.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, Host.Host.ServiceUrl + "/")
        {
            Content = new StringContent("""{"ServiceNamespace":"dynamodb","ResourceId":"table/none","ScalableDimension":"dynamodb:table:ReadCapacityUnits"}""", Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new("application/x-amz-json-1.1");
        request.Headers.Add("X-Amz-Target", "AnyScaleFrontendService.DeregisterScalableTarget");
        request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/application-autoscaling/aws4_request, SignedHeaders=host, Signature=00");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/x-amz-json-1.1", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("ObjectNotFoundException", body.GetProperty("__type").GetString());
        Assert.Equal("No scalable target found for service namespace: dynamodb, resource ID: table/none, scalable dimension: dynamodb:table:ReadCapacityUnits",
            body.GetProperty("Message").GetString());
    }

    /// <summary>The AWS CLI's <c>application-autoscaling</c> commands work against the same endpoint.</summary>
    [Fact]
    public async Task AwsCli_RegistersAndDescribesTargets()
    {
        var table = await Host.CreateTableAsync("ascli", rcu: 5, wcu: 5);
        var resource = "table/" + table;
        await CliAsync("register-scalable-target", "--service-namespace", "dynamodb", "--resource-id", resource,
            "--scalable-dimension", "dynamodb:table:ReadCapacityUnits", "--min-capacity", "5", "--max-capacity", "25");
        var output = await CliAsync("describe-scalable-targets", "--service-namespace", "dynamodb", "--resource-ids", resource);
        var target = Assert.Single(JsonDocument.Parse(output).RootElement.GetProperty("ScalableTargets").EnumerateArray());
        Assert.Equal(25, target.GetProperty("MaxCapacity").GetInt64());
        Assert.Equal("dynamodb:table:ReadCapacityUnits", target.GetProperty("ScalableDimension").GetString());
    }

    private async Task<string> CliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("aws") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["application-autoscaling", .. arguments, "--endpoint-url", Host.Host.ServiceUrl, "--output", "json"]) start.ArgumentList.Add(a);
        start.Environment["AWS_ACCESS_KEY_ID"] = "test";
        start.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
        start.Environment["AWS_DEFAULT_REGION"] = "us-east-1";
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"aws {string.Join(' ', arguments)} failed: {await stdout}{await stderr}");
        return await stdout;
    }

    /// <summary>The name of one of the policy's alarms, as DescribeScalingPolicies reports it.</summary>
    private async Task<string> AlarmAsync(string resource, string kind)
    {
        var r = await Host.CallAsync("describe_scaling_policies", new { ServiceNamespace = "dynamodb", ResourceId = resource });
        return r.GetProperty("ScalingPolicies")[0].GetProperty("Alarms").EnumerateArray()
            .Select(a => a.GetProperty("AlarmName").GetString()!).Single(n => n.StartsWith($"TargetTracking-{resource}-{kind}-", StringComparison.Ordinal));
    }
}
