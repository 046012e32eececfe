using System.Net;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.AutoScaling;

/// <summary>
/// A host for auto scaling tests: the adjustable clock is on and the AutoScaling timer never fires by itself, so a
/// test decides each minute: it sends real load, advances the clock and runs the function
/// (<c>POST /admin/functions/AutoScaling</c>). Application Auto Scaling calls go through boto3
/// (<c>autoscaling_calls.py</c>), DynamoDB calls through the AWS SDK for .NET.
/// </summary>
internal sealed class AutoScalingHost : IAsyncDisposable
{
    private AutoScalingHost(HostProcess host)
    {
        Host = host;
        Client = host.CreateClient();
    }

    public HostProcess Host { get; }

    public AmazonDynamoDBClient Client { get; private set; }

    /// <param name="azurite">Blob storage for the store; null keeps it in the host's data directory.</param>
    public static async Task<AutoScalingHost> StartAsync(AzuriteProcess? azurite = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["LocalHost__ClockControl"] = "true",
            // The tests run the function themselves; a schedule that never comes keeps the minutes theirs.
            ["AutoScalingSchedule"] = "0 0 0 1 1 *",
        };
        if (azurite != null)
        {
            environment["AzureWebJobsStorage"] = azurite.ConnectionString;
            environment["Engine__Blob__LeaseSeconds"] = "15";
        }

        return new AutoScalingHost(await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, StartTimeout = TimeSpan.FromSeconds(90) }));
    }

    public async Task RestartAsync()
    {
        Client.Dispose();
        await Host.RestartAsync();
        Client = Host.CreateClient();
    }

    /// <summary>Makes Application Auto Scaling calls through boto3; each result is the response or <c>{"Error": {...}}</c>.</summary>
    public async Task<JsonElement[]> CallAsync(params (string Operation, object Parameters)[] calls)
    {
        var json = JsonSerializer.Serialize(calls.Select(c => new object[] { c.Operation, c.Parameters }));
        var output = await PythonScript.RunWithPathPythonAsync(Path.Combine("..", "AutoScaling", "autoscaling_calls.py"), Host, new Dictionary<string, string> { ["AAS_CALLS"] = json });
        const string Marker = "AAS-RESULTS: ";
        var line = output.Split('\n').Single(l => l.StartsWith(Marker, StringComparison.Ordinal));
        return JsonDocument.Parse(line[Marker.Length..]).RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    public async Task<JsonElement> CallAsync(string operation, object parameters) => (await CallAsync((operation, parameters)))[0];

    /// <summary>Registers a target and puts a target tracking policy on it.</summary>
    public async Task RegisterWithPolicyAsync(string resourceId, string dimension, long min, long max, double target, int? scaleOutCooldown = null, int? scaleInCooldown = null)
    {
        var configuration = new Dictionary<string, object>
        {
            ["TargetValue"] = target,
            ["PredefinedMetricSpecification"] = new { PredefinedMetricType = dimension.EndsWith("ReadCapacityUnits") ? "DynamoDBReadCapacityUtilization" : "DynamoDBWriteCapacityUtilization" },
        };
        if (scaleOutCooldown is { } o) configuration["ScaleOutCooldown"] = o;
        if (scaleInCooldown is { } i) configuration["ScaleInCooldown"] = i;
        var results = await CallAsync(
            ("register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = resourceId, ScalableDimension = dimension, MinCapacity = min, MaxCapacity = max }),
            ("put_scaling_policy", new
            {
                PolicyName = "tracking", ServiceNamespace = "dynamodb", ResourceId = resourceId, ScalableDimension = dimension,
                PolicyType = "TargetTrackingScaling", TargetTrackingScalingPolicyConfiguration = configuration,
            }));
        foreach (var r in results) Assert.False(r.TryGetProperty("Error", out var e), e.ToString());
    }

    /// <summary>The activities of one resource, newest first.</summary>
    public async Task<JsonElement[]> ActivitiesAsync(string resourceId)
    {
        var r = await CallAsync("describe_scaling_activities", new { ServiceNamespace = "dynamodb", ResourceId = resourceId });
        return [.. r.GetProperty("ScalingActivities").EnumerateArray()];
    }

    /// <summary>Runs the AutoScaling timer function now.</summary>
    public async Task EvaluateAsync()
    {
        using var response = await Host.SendAdminAsync(HttpMethod.Post, "/admin/functions/AutoScaling", "{}"u8.ToArray());
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    /// <summary>
    /// One minute of the policies' alarms: the clock moves a minute (which also refills the table's capacity), the
    /// load runs, then the function evaluates. Returns what the load reported as consumed.
    /// </summary>
    public async Task<double> MinuteAsync(Func<Task<double>>? load = null)
    {
        await Host.AdvanceClockAsync(TimeSpan.FromMinutes(1));
        var consumed = load == null ? 0 : await load();
        await EvaluateAsync();
        return consumed;
    }

    /// <summary>Quiet minutes: the clock moves, nothing is consumed, then the function evaluates once.</summary>
    public async Task QuietAsync(int minutes)
    {
        await Host.AdvanceClockAsync(TimeSpan.FromMinutes(minutes));
        await EvaluateAsync();
    }

    public async Task<string> CreateTableAsync(string prefix, long rcu, long wcu, string? index = null, long indexRcu = 0, long indexWcu = 0)
    {
        var name = $"{prefix}{Guid.NewGuid():N}"[..24];
        var request = new CreateTableRequest
        {
            TableName = name, KeySchema = [new("pk", KeyType.HASH)], AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
            ProvisionedThroughput = new ProvisionedThroughput(rcu, wcu),
        };
        if (index != null)
        {
            request.AttributeDefinitions.Add(new("g", ScalarAttributeType.S));
            request.GlobalSecondaryIndexes =
            [
                new GlobalSecondaryIndex
                {
                    IndexName = index, KeySchema = [new("g", KeyType.HASH)], Projection = new Projection { ProjectionType = ProjectionType.ALL },
                    ProvisionedThroughput = new ProvisionedThroughput(indexRcu, indexWcu),
                },
            ];
        }

        await Client.CreateTableAsync(request);
        return name;
    }

    /// <summary>Writes <paramref name="items"/> small items (1 WCU each) in batches; returns the units the table reported.</summary>
    public async Task<double> WriteAsync(string table, int items)
    {
        double consumed = 0;
        for (var start = 0; start < items; start += 25)
        {
            var batch = Enumerable.Range(start, Math.Min(25, items - start))
                .Select(i => new WriteRequest(new PutRequest(new Dictionary<string, AttributeValue> { ["pk"] = new($"k{i}") }))).ToList();
            var response = await Client.BatchWriteItemAsync(new BatchWriteItemRequest
            {
                RequestItems = new() { [table] = batch }, ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
            });
            Assert.Empty(response.UnprocessedItems);
            consumed += response.ConsumedCapacity.Sum(c => c.CapacityUnits ?? 0);
        }

        return consumed;
    }

    public async Task<TableDescription> DescribeAsync(string table) => (await Client.DescribeTableAsync(table)).Table;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
    }
}
