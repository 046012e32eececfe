using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Engine;
using Serverless.Engine.Common;
using Serverless.Engine.Model;
using Serverless.Engine.Partitioning;
using Serverless.Engine.Protocol;
using Serverless.ScaleOut;

namespace Serverless.Engine.Tests.ScaleOut;

/// <summary>
/// Partition grains on a real Orleans silo (localhost clustering, in this process): requests forwarded as JSON bytes
/// are answered by the partition's own store, an error comes back written byte for byte as a store without partitions
/// writes it, a route made with another partition key is answered "stale route", and a deactivated partition is closed
/// and reopened from its files on the next call.
/// </summary>
public sealed class PartitionGrainTests : IAsyncLifetime
{
    private const string Region = "us-east-1";
    private const string Create = """{"TableName":"orders","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}""";
    private const string Put = """{"TableName":"orders","Item":{"pk":{"S":"a"},"v":{"N":"1"}}}""";
    private const string Get = """{"TableName":"orders","Key":{"pk":{"S":"a"}},"ConsistentRead":true}""";
    private const string FailedCondition = """{"TableName":"orders","Item":{"pk":{"S":"a"},"v":{"N":"2"}},"ConditionExpression":"attribute_not_exists(pk)","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}""";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "orleans-grains-" + Guid.NewGuid().ToString("N"));
    private IHost? _silo;

    public async Task InitializeAsync()
    {
        var options = new EngineOptions { DataDirectory = _dir, Partitions = 2, StoreMemoryBytes = 16L * 1024 * 1024 };
        PartitionedStore.CheckLayout(_dir, options.Partitions);
        _silo = new HostBuilder()
            .UseOrleans(silo => silo.UseLocalhostClustering(FreePort(), FreePort()).AddPartitionGrains(options, TimeProvider.System))
            .Build();
        await _silo.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_silo != null)
        {
            await _silo.StopAsync();
            _silo.Dispose();
        }

        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private IGrainFactory Grains => _silo!.Services.GetRequiredService<IGrainFactory>();

    private async Task<PartitionAnswer> CallAsync(int k, string operation, string body, string? table = null, string? hashKey = null)
    {
        var grain = Grains.GetGrain<IPartitionGrain>(PartitionGrain.KeyOf(Region, k));
        var reply = await grain.ExecuteAsync(PartitionMessage.From(new PartitionRequest("DynamoDB_20120810." + operation, Region, Encoding.UTF8.GetBytes(body), table, hashKey)));
        return reply.ToAnswer();
    }

    private static string Text(PartitionAnswer answer)
    {
        Assert.True(answer.Status == PartitionCallStatus.Ok, $"{answer.Status}: {answer.ErrorType} {answer.Message}");
        return Encoding.UTF8.GetString(answer.Body!);
    }

    [Fact]
    public async Task ForwardedRequests_AreAnsweredByThePartitionThatOwnsTheKey()
    {
        for (var k = 0; k < 2; k++) Assert.Contains("\"TableStatus\"", Text(await CallAsync(k, "CreateTable", Create)), StringComparison.Ordinal);
        var owner = OwnerOf("a");
        Assert.Equal("{}", Text(await CallAsync(owner, "PutItem", Put, "orders", "pk")));
        Assert.Equal("""{"Item":{"pk":{"S":"a"},"v":{"N":"1"}}}""", Text(await CallAsync(owner, "GetItem", Get, "orders", "pk")));

        // The other partition's store does not hold it: each grain serves its own partition only.
        Assert.Equal("{}", Text(await CallAsync(1 - owner, "GetItem", Get, "orders", "pk")));
        Assert.True(Directory.Exists(Path.Combine(_dir, "p" + owner)));
    }

    [Fact]
    public async Task AnError_ComesBackWrittenAsAStoreWithoutPartitionsWritesIt()
    {
        for (var k = 0; k < 2; k++) Text(await CallAsync(k, "CreateTable", Create));
        var owner = OwnerOf("a");
        Text(await CallAsync(owner, "PutItem", Put));
        var answer = await CallAsync(owner, "PutItem", FailedCondition, "orders", "pk");
        Assert.Equal(PartitionCallStatus.Error, answer.Status);
        var forwarded = Written(DynamoErrors.Rebuilt(answer));

        // The same requests on one store without partitions, through its request handler.
        var single = Path.Combine(_dir, "single");
        await using var engine = await DynamoEngine.OpenAsync(new EngineOptions { DataDirectory = single, StoreMemoryBytes = 16L * 1024 * 1024 });
        await HandleAsync(engine, "CreateTable", Create);
        await HandleAsync(engine, "PutItem", Put);
        var (status, direct) = await HandleAsync(engine, "PutItem", FailedCondition);
        Assert.Equal(400, status);
        Assert.Equal(400, answer.StatusCode);
        Assert.Equal(direct, forwarded);
        Assert.Contains("ConditionalCheckFailedException", forwarded, StringComparison.Ordinal);
        Assert.Contains("\"Item\":{", forwarded, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARouteMadeWithAnotherPartitionKey_IsAnsweredStale()
    {
        Text(await CallAsync(0, "CreateTable", Create));
        var answer = await CallAsync(0, "GetItem", """{"TableName":"orders","Key":{"id":{"S":"a"}}}""", "orders", "id");
        Assert.Equal(PartitionCallStatus.StaleRoute, answer.Status);
    }

    [Fact]
    public async Task ADeactivatedPartition_IsClosedAndReopenedFromItsFiles()
    {
        for (var k = 0; k < 2; k++) Text(await CallAsync(k, "CreateTable", Create));
        var owner = OwnerOf("a");
        Text(await CallAsync(owner, "PutItem", Put));

        // Deactivate every idle activation: the partition's store is closed (its lease released) ...
        var management = Grains.GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(0, await CountPartitionActivationsAsync(management));

        // ... and the next call activates the grain again, which reopens the store from its files.
        Assert.Equal("""{"Item":{"pk":{"S":"a"},"v":{"N":"1"}}}""", Text(await CallAsync(owner, "GetItem", Get, "orders", "pk")));
    }

    [Fact]
    public async Task AStoreHoldingOnlyPartitionZero_ForwardsTheRestToTheGrains_AndAnswersAsOneStore()
    {
        var options = new EngineOptions { DataDirectory = _dir, Partitions = 2, StoreMemoryBytes = 16L * 1024 * 1024 };
        await using var gateway = await PartitionedStore.OpenWithRemoteAsync(options, new GrainPartitionTransport(Grains, Region), TimeProvider.System);
        await using var single = await DynamoEngine.OpenAsync(new EngineOptions { DataDirectory = Path.Combine(_dir, "single"), StoreMemoryBytes = 16L * 1024 * 1024 });
        var keys = Enumerable.Range(0, 40).Select(i => "k" + i).ToList();
        Assert.Contains(keys, k => OwnerOf(k) == 1);
        Assert.Contains(keys, k => OwnerOf(k) == 0);

        var requests = new List<(string Operation, string Body)> { ("CreateTable", Create) };
        foreach (var k in keys) requests.Add(("PutItem", $$$$"""{"TableName":"orders","Item":{"pk":{"S":"{{{{k}}}}"},"v":{"N":"{{{{k.Length}}}}"}}}"""));
        foreach (var k in keys) requests.Add(("GetItem", $$$"""{"TableName":"orders","Key":{"pk":{"S":"{{{k}}}"}},"ConsistentRead":true}"""));
        foreach (var k in keys) requests.Add(("PutItem", $$$"""{"TableName":"orders","Item":{"pk":{"S":"{{{k}}}"}},"ConditionExpression":"attribute_not_exists(pk)","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}"""));
        requests.Add(("Scan", """{"TableName":"orders","Limit":7}"""));
        requests.Add(("Scan", """{"TableName":"orders","Select":"COUNT"}"""));
        requests.Add(("Query", """{"TableName":"orders","KeyConditionExpression":"pk = :k","ExpressionAttributeValues":{":k":{"S":"k7"}}}"""));
        requests.Add(("BatchGetItem", """{"RequestItems":{"orders":{"Keys":[{"pk":{"S":"k1"}},{"pk":{"S":"k2"}},{"pk":{"S":"k3"}},{"pk":{"S":"k4"}}]}}}"""));
        requests.Add(("GetItem", """{"TableName":"nope","Key":{"pk":{"S":"k1"}}}"""));
        foreach (var (operation, body) in requests)
        {
            var expected = await HandleAsync(single, operation, body);
            var actual = await HandleAsync(gateway, operation, body);
            if (operation is "CreateTable") continue; // its description names the table's creation time and id
            // BatchGetItem's responses come in no set order (on DynamoDB too): compare them sorted.
            if (operation is "BatchGetItem")
            {
                Assert.Equal(expected.Status, actual.Status);
                Assert.Equal(SortedResponses(expected.Body), SortedResponses(actual.Body));
                continue;
            }

            // Scan pages too: partitions are hash ranges, so the page and its LastEvaluatedKey are those of one store.
            Assert.Equal(expected, actual);
        }
    }

    private static List<string> SortedResponses(string body)
    {
        using var document = JsonDocument.Parse(body);
        return [.. document.RootElement.GetProperty("Responses").GetProperty("orders").EnumerateArray().Select(e => e.GetRawText()).Order(StringComparer.Ordinal)];
    }

    private static async Task<int> CountPartitionActivationsAsync(IManagementGrain management)
    {
        var stats = await management.GetSimpleGrainStatistics();
        return stats.Where(s => s.GrainType.Contains(nameof(PartitionGrain), StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }

    private static int OwnerOf(string key) => PartitionMap.PartitionOf(KeyCodec.PartitionHash(AttrValue.FromS(key)), 2);

    private static string Written(DynamoException e)
    {
        using var output = new PooledBufferWriter(256);
        RequestHandler.WriteError(output, e);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static async Task<(int Status, string Body)> HandleAsync(DynamoEngine engine, string operation, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        using var response = await engine.Handler.HandleAsync(new ApiRequest("DynamoDB_20120810." + operation, null, bytes.Length, new MemoryStream(bytes)));
        return (response.StatusCode, Encoding.UTF8.GetString(response.Body.Span));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
