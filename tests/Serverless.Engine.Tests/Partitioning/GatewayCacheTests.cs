using System.Text;
using System.Text.Json;
using Serverless.Engine;
using Serverless.Engine.Partitioning;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Tests.Partitioning;

/// <summary>
/// A gateway's cached table definitions (docs/scale-out.md, "Gateway") are trusted for
/// <see cref="PartitionRouter.CacheAge"/> only: a change made through another host (here, straight on the partitions)
/// reaches the gateway's catalog, which authorization reads, once that has passed, without a miss or a stale route.
/// </summary>
public sealed class GatewayCacheTests
{
    private const string Create = """{"TableName":"orders","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}""";
    private const string Get = """{"TableName":"orders","Key":{"pk":{"S":"a"}}}""";

    [Fact]
    public async Task ACachedDefinition_IsFetchedAgain_OnceItIsOlderThanTheCacheAge()
    {
        var clock = new ManualClock();
        var partitions = new DynamoEngine[2];
        for (var k = 0; k < partitions.Length; k++) partitions[k] = await DynamoEngine.OpenAsync(new EngineOptions { InMemory = true }, clock);
        var transport = new LocalTransport(partitions);
        await using var gateway = await PartitionedStore.OpenGatewayAsync(new EngineOptions { InMemory = true, Partitions = 2 }, transport, clock);
        try
        {
            var created = await HandleAsync(gateway, "CreateTable", Create);
            var arn = JsonDocument.Parse(created).RootElement.GetProperty("TableDescription").GetProperty("TableArn").GetString();
            await HandleAsync(gateway, "GetItem", Get);
            var fetches = transport.CatalogFetches;

            // Another host tags the table: the partitions have it, the gateway's fresh cache does not ask again.
            foreach (var partition in partitions)
                await HandleAsync(partition, "TagResource", $$"""{"ResourceArn":"{{arn}}","Tags":[{"Key":"team","Value":"blue"}]}""");
            clock.Advance(PartitionRouter.CacheAge - TimeSpan.FromSeconds(1));
            await HandleAsync(gateway, "GetItem", Get);
            Assert.Equal(fetches, transport.CatalogFetches);
            Assert.Empty(gateway.Database.FindTable("orders")!.Definition.Tags);

            // Past the cache age the next request fetches the definition again, and sees the change.
            clock.Advance(TimeSpan.FromSeconds(2));
            await HandleAsync(gateway, "GetItem", Get);
            Assert.Equal(fetches + 1, transport.CatalogFetches);
            Assert.Equal("blue", gateway.Database.FindTable("orders")!.Definition.Tags["team"]);
        }
        finally
        {
            foreach (var partition in partitions) await partition.DisposeAsync();
        }
    }

    private static async Task<string> HandleAsync(DynamoEngine engine, string operation, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        using var response = await engine.Handler.HandleAsync(new ApiRequest("DynamoDB_20120810." + operation, null, bytes.Length, new MemoryStream(bytes)));
        var text = Encoding.UTF8.GetString(response.Body.Span);
        Assert.True(response.StatusCode == 200, $"{operation}: {response.StatusCode} {text}");
        return text;
    }

    /// <summary>Partitions in this process, reached as a gateway reaches remote ones: the request's bytes, answered by <see cref="PartitionCall"/>.</summary>
    private sealed class LocalTransport(DynamoEngine[] partitions) : IPartitionTransport
    {
        private int _catalogFetches;

        public int CatalogFetches => Volatile.Read(ref _catalogFetches);

        public Task<PartitionAnswer> CallAsync(int partition, PartitionRequest request, CancellationToken cancellationToken)
        {
            if (request.Target == PartitionCall.CatalogTarget) Interlocked.Increment(ref _catalogFetches);
            return PartitionCall.ExecuteAsync(partitions[partition], request);
        }
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
