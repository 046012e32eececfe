using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Cache;

/// <summary>
/// A host for the cache tests: adjustable clock (POST /admin/clock/advance), small per-cluster cache memory so LRU
/// eviction is reachable, and helpers for the DAX control plane (JSON 1.1, as boto3's dax client sends it), the
/// cluster endpoints and the cache metrics.
/// </summary>
public sealed class DaxHostFixture : IAsyncLifetime
{
    public const long MemoryBytes = 256 * 1024;

    private HostProcess? _host;

    public HostProcess Host => _host ?? throw new InvalidOperationException("The host has not started.");

    public async Task InitializeAsync() => _host = await StartAsync(inMemory: true);

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }

    public static Task<HostProcess> StartAsync(bool inMemory) => HostProcess.StartAsync(new HostProcessOptions
    {
        InMemory = inMemory,
        Environment = new Dictionary<string, string>
        {
            ["LocalHost__ClockControl"] = "true",
            ["Cache__MemoryBytes"] = MemoryBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["TtlSweepSchedule"] = "01:00:00",
        },
    });
}

internal static class Dax
{
    /// <summary>One DAX control-plane call; fails the test unless it succeeds.</summary>
    public static async Task<JsonElement> CallAsync(HostProcess host, string operation, object request)
    {
        var (status, json) = await TryCallAsync(host, operation, request);
        Assert.True(status == 200, $"{operation} failed: {json}");
        return json;
    }

    public static async Task<(int Status, JsonElement Json)> TryCallAsync(HostProcess host, string operation, object request)
    {
        using var http = host.CreateHttpClient();
        var body = JsonSerializer.SerializeToUtf8Bytes(request);
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(host.ServiceUrl), "/")) { Content = new ByteArrayContent(body) };
        message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-amz-json-1.1");
        message.Headers.TryAddWithoutValidation("X-Amz-Target", "AmazonDAXV3." + operation);
        if (host.Key is { } key) SigV4Signer.Sign(message, body, key, "us-east-1", "dax", DateTime.UtcNow + host.ClockOffset);
        else message.Headers.TryAddWithoutValidation("Authorization", RawApi.FakeAuthorization.Replace("/dynamodb/", "/dax/", StringComparison.Ordinal));
        using var response = await http.SendAsync(message);
        Assert.Equal("application/x-amz-json-1.1", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync()).RootElement.Clone();
        return ((int)response.StatusCode, json);
    }

    /// <summary>Creates a cluster (with <paramref name="parameterGroup"/>) and returns its endpoint URL from DescribeClusters.</summary>
    public static async Task<string> CreateClusterAsync(HostProcess host, string name, string? parameterGroup = null)
    {
        var request = new Dictionary<string, object>
        {
            ["ClusterName"] = name, ["NodeType"] = "dax.t3.small", ["ReplicationFactor"] = 1,
            ["IamRoleArn"] = "arn:aws:iam::000000000000:role/DAXServiceRole",
        };
        if (parameterGroup != null) request["ParameterGroupName"] = parameterGroup;
        await CallAsync(host, "CreateCluster", request);
        var described = await CallAsync(host, "DescribeClusters", new { ClusterNames = new[] { name } });
        return described.GetProperty("Clusters")[0].GetProperty("ClusterDiscoveryEndpoint").GetProperty("URL").GetString()!;
    }

    /// <summary>A parameter group with the given values.</summary>
    public static async Task CreateParameterGroupAsync(HostProcess host, string name, params (string Name, string Value)[] values)
    {
        await CallAsync(host, "CreateParameterGroup", new { ParameterGroupName = name });
        await CallAsync(host, "UpdateParameterGroup", new
        {
            ParameterGroupName = name,
            ParameterNameValues = values.Select(v => new { ParameterName = v.Name, ParameterValue = v.Value }).ToArray(),
        });
    }

    /// <summary>An unchanged AWS SDK DynamoDB client whose endpoint is the cluster's URL.</summary>
    public static AmazonDynamoDBClient ClientFor(HostProcess host, string url) => host.CreateClient(c => c.ServiceURL = url);

    public static async Task<CacheCounters> MetricsAsync(HostProcess host, string cluster)
    {
        using var response = await host.SendAdminAsync(HttpMethod.Get, "/admin/metrics");
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var c = doc.RootElement.GetProperty("Caches").EnumerateArray().Single(e => e.GetProperty("ClusterName").GetString() == cluster);
        return new CacheCounters(c.GetProperty("Hits").GetInt64(), c.GetProperty("Misses").GetInt64(), c.GetProperty("Evictions").GetInt64(),
            c.GetProperty("Bytes").GetInt64());
    }

    public static async Task<double> ConsumedReadsAsync(HostProcess host, string table)
    {
        using var response = await host.SendAdminAsync(HttpMethod.Get, "/admin/metrics");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("Tables").EnumerateArray()
            .Single(t => t.GetProperty("TableName").GetString() == table).GetProperty("ConsumedReadCapacityUnits").GetDouble();
    }

    public static string NewCluster() => "c" + Guid.NewGuid().ToString("N")[..12];

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}

internal readonly record struct CacheCounters(long Hits, long Misses, long Evictions, long Bytes);
