using System.Text;
using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Tests.Capacity;

/// <summary>An in-memory engine on a manual clock, called through its request handler as the hosts call it.</summary>
internal sealed class CapacityHarness : IAsyncDisposable
{
    private const string Auth = "AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKEFAKE/20260101/us-east-1/dynamodb/aws4_request, "
        + "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

    private CapacityHarness(DynamoEngine engine, ManualClock clock)
    {
        Engine = engine;
        Clock = clock;
    }

    public DynamoEngine Engine { get; }

    public ManualClock Clock { get; }

    public static async Task<CapacityHarness> OpenAsync(Action<CapacityOptions>? configure = null)
    {
        var clock = new ManualClock();
        var options = new EngineOptions { InMemory = true, StoreMemoryBytes = 1L << 25 };
        configure?.Invoke(options.Capacity);
        return new CapacityHarness(await DynamoEngine.OpenAsync(options, clock), clock);
    }

    /// <summary>Sends one request; returns the status and the exact body.</summary>
    public async Task<(int Status, string Body)> SendAsync(string operation, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        using var response = await Engine.Handler.HandleAsync(new ApiRequest("DynamoDB_20120810." + operation, Auth, bytes.Length, new MemoryStream(bytes)));
        return (response.StatusCode, Encoding.UTF8.GetString(response.Body.Span));
    }

    /// <summary>Sends one request that must succeed.</summary>
    public async Task<JsonElement> CallAsync(string operation, string json)
    {
        var (status, body) = await SendAsync(operation, json);
        Assert.True(status == 200, $"{operation} answered {status}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Sends one request that must fail; returns the parsed error body.</summary>
    public async Task<JsonElement> FailAsync(string operation, string json)
    {
        var (status, body) = await SendAsync(operation, json);
        Assert.True(status == 400, $"{operation} answered {status}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public Task<JsonElement> CreateProvisionedAsync(string name, long rcu, long wcu, string extra = "") => CallAsync("CreateTable",
        "{\"TableName\":\"" + (name) + "\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}" + ((extra.Length > 0 ? ",{\"AttributeName\":\"g\",\"AttributeType\":\"S\"}" : "")) + "],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],\"ProvisionedThroughput\":{\"ReadCapacityUnits\":" + (rcu) + ",\"WriteCapacityUnits\":" + (wcu) + "}" + (extra) + "}");

    public Task<JsonElement> CreateOnDemandAsync(string name, string extra = "") => CallAsync("CreateTable",
        "{\"TableName\":\"" + (name) + "\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}],\"BillingMode\":\"PAY_PER_REQUEST\"" + (extra) + "}");

    public static string Put(string table, string pk, string extra = "") => "{\"TableName\":\"" + (table) + "\",\"Item\":{\"pk\":{\"S\":\"" + (pk) + "\"}" + (extra) + "}}";

    public static string Get(string table, string pk, bool consistent = false) =>
        "{\"TableName\":\"" + (table) + "\",\"Key\":{\"pk\":{\"S\":\"" + (pk) + "\"}},\"ConsistentRead\":" + (consistent ? "true" : "false") + "}";

    /// <summary>Puts until one is refused; returns how many succeeded and the error.</summary>
    public async Task<(int Succeeded, JsonElement Error)> PutUntilThrottledAsync(string table, Func<int, string> key, int max = 5000, string extra = "")
    {
        for (var i = 0; i < max; i++)
        {
            var (status, body) = await SendAsync("PutItem", Put(table, key(i), extra));
            if (status != 200) return (i, JsonDocument.Parse(body).RootElement.Clone());
        }

        throw new InvalidOperationException($"{max} puts were never throttled");
    }

    public ValueTask DisposeAsync() => Engine.DisposeAsync();
}

internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
