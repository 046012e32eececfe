using System.Diagnostics;
using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Serverless.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Serverless.IntegrationTests.ScaleOut;

/// <summary>
/// Two hosts on one store (docs/scale-out.md, "Gateway"): the same Azurite account (<c>--storage</c>), each with its own
/// port and data directory, P = 4, <c>ScaleOut__Enabled=true</c>. Every partition, 0 included, is a grain; each host is
/// a gateway that routes with a catalog cached from partition 0. Requests sent alternately to both answer as one host
/// does; a table dropped and created again with another key on one host is routed right by the other (the stale-route
/// refresh); and a SIGKILL of one host moves its partitions to the other with every acknowledged write.
/// </summary>
public sealed class GatewayTests(ITestOutputHelper output)
{
    private const string Table = "orders";

    /// <summary>A scaled-out host on <paramref name="azurite"/>'s account: P = 4, the shortest lease, quick failure detection.</summary>
    private static HostProcessOptions OnStore(AzuriteProcess azurite) => CoHostedSiloTests.ScaledOut(
        ("AzureWebJobsStorage", azurite.ConnectionString),
        ("Engine__Partitions", "4"),
        ("Engine__Blob__Container", "shared"),
        ("Engine__Blob__LeaseSeconds", "15"),
        ("ScaleOut__ProbeTimeout", "00:00:01"),
        ("ScaleOut__MissedProbesLimit", "2"));

    [Fact]
    public async Task TwoHostsOnOneStore_AnswerLikeOneHost_AndRouteRightAfterATableChangesItsKey()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var single = await HostProcess.StartAsync();
        await using var a = await HostProcess.StartAsync(OnStore(azurite));
        await using var b = await HostProcess.StartAsync(OnStore(azurite));
        try
        {
            using var one = single.CreateClient();
            using var both = Alternating(a, b);
            await PartitionedStoreTests.AssertSameAnswersAsync(one, both, PartitionedStoreTests.RunScenarioAsync);

            using var ca = a.CreateClient();
            using var cb = b.CreateClient();
            var missing = new GetItemRequest { TableName = "missing", Key = new() { ["pk"] = new AttributeValue("x") } };
            var expected = await Assert.ThrowsAsync<ResourceNotFoundException>(() => one.GetItemAsync(missing));
            foreach (var client in new[] { ca, cb })
                Assert.Equal(expected.Message, (await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.GetItemAsync(missing))).Message);

            // B cached the table with partition key "pk"; A drops it and creates it again keyed by "id".
            await ca.DeleteTableAsync(Table);
            await ca.CreateTableAsync(new CreateTableRequest
            {
                TableName = Table, BillingMode = BillingMode.PAY_PER_REQUEST,
                AttributeDefinitions = [new AttributeDefinition("id", ScalarAttributeType.S)],
                KeySchema = [new KeySchemaElement("id", KeyType.HASH)],
            });
            for (var i = 0; i < 40; i++) await cb.PutItemAsync(Table, new() { ["id"] = new AttributeValue("i" + i), ["v"] = Number(i) });
            foreach (var client in new[] { ca, cb })
            {
                for (var i = 0; i < 40; i++)
                {
                    var got = await client.GetItemAsync(new GetItemRequest { TableName = Table, Key = new() { ["id"] = new AttributeValue("i" + i) }, ConsistentRead = true });
                    Assert.Equal(i.ToString(CultureInfo.InvariantCulture), got.Item["v"].N);
                }

                Assert.Equal(40, (await ScanKeysAsync(client, "id")).Count);
            }

            // The old key is refused by the partition now, as one host refuses it.
            var old = await Assert.ThrowsAnyAsync<AmazonDynamoDBException>(() => cb.GetItemAsync(Table, new() { ["pk"] = new AttributeValue("user1") }));
            Assert.Equal("ValidationException", old.ErrorCode);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(e.Message + "\n--- A ---\n" + a.Output + "\n--- B ---\n" + b.Output, e);
        }
    }

    [Fact]
    public async Task KillingAHostUnderWrites_MovesItsPartitionsToTheOther_WithEveryAcknowledgedWrite()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var a = await HostProcess.StartAsync(OnStore(azurite));
        await using var b = await HostProcess.StartAsync(OnStore(azurite));
        try
        {
            using var ca = a.CreateClient();
            using var cb = b.CreateClient();
            await cb.CreateTableAsync(new CreateTableRequest
            {
                TableName = Table, BillingMode = BillingMode.PAY_PER_REQUEST,
                AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
                KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            });

            // Calls from both hosts activate the four partitions; placement by activation count spreads them.
            var acknowledged = new List<string>();
            for (var i = 0; i < 40; i++)
            {
                await (i % 2 == 0 ? ca : cb).PutItemAsync(Table, new() { ["pk"] = new AttributeValue("warm" + i), ["v"] = Number(i) });
                acknowledged.Add("warm" + i);
            }

            var heldByA = Enumerable.Range(0, 4).Where(k => Directory.Exists(Path.Combine(a.DataDirectory, "p" + k))).ToList();
            Assert.NotEmpty(heldByA);

            // Writes to B, each key recorded once B acknowledged it; A is killed while they run.
            using var stop = new CancellationTokenSource();
            var failures = 0;
            string? lastFailure = null;
            var writer = Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    var key = "w" + n;
                    try
                    {
                        await cb.PutItemAsync(Table, new() { ["pk"] = new AttributeValue(key), ["v"] = Number(n) });
                        lock (acknowledged) acknowledged.Add(key);
                    }
                    catch (Exception e)
                    {
                        // Refused or failed while the partitions move (500s, SDK timeouts): not acknowledged, not counted.
                        Interlocked.Increment(ref failures);
                        lastFailure = "write: " + e.GetType().Name + " " + e.Message;
                    }
                }
            });
            while (Count(acknowledged) < 100) await Task.Delay(50);
            await a.KillAsync();
            var killed = Stopwatch.StartNew();

            // B serves every partition once a Scan (it visits all four) and a run of writes succeed.
            var deadline = TimeSpan.FromSeconds(150);
            while (true)
            {
                Assert.True(killed.Elapsed < deadline, $"B did not serve every partition within {deadline.TotalSeconds} s of the kill ({failures} failures, {Count(acknowledged)} acknowledged, last: {lastFailure}).\n" + b.Output);
                try
                {
                    await ScanKeysAsync(cb, "pk");
                    var before = Count(acknowledged);
                    var since = failures;
                    await Task.Delay(1000);
                    if (failures == since && Count(acknowledged) > before) break;
                }
                catch (Exception e) when (e is not Xunit.Sdk.XunitException)
                {
                    lastFailure = "scan: " + e.GetType().Name + " " + e.Message;
                    await Task.Delay(500);
                }
            }

            var tookOver = killed.Elapsed;
            await stop.CancelAsync();
            await writer;

            var found = await ScanKeysAsync(cb, "pk");
            List<string> lost;
            lock (acknowledged) lost = acknowledged.Where(k => !found.Contains(k)).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} acknowledged writes lost: {string.Join(",", lost.Take(20))}");
            for (var k = 0; k < 4; k++) Assert.True(Directory.Exists(Path.Combine(b.DataDirectory, "p" + k)), $"B never opened partition {k}");
            output.WriteLine($"gateway kill test: A held partitions {string.Join(",", heldByA)}; B served all 4 after {tookOver.TotalSeconds:F1} s; {Count(acknowledged)} writes acknowledged, {failures} refused meanwhile.");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(e.Message + "\n--- A ---\n" + a.Output + "\n--- B ---\n" + b.Output, e);
        }
    }

    private static int Count(List<string> list)
    {
        lock (list) return list.Count;
    }

    private static AttributeValue Number(int n) => new() { N = n.ToString(CultureInfo.InvariantCulture) };

    private static async Task<HashSet<string>> ScanKeysAsync(AmazonDynamoDBClient client, string key)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var request = new ScanRequest { TableName = Table, Limit = 9, ConsistentRead = true };
        do
        {
            var page = await client.ScanAsync(request);
            foreach (var item in page.Items) Assert.True(keys.Add(item[key].S));
            request.ExclusiveStartKey = page.LastEvaluatedKey is { Count: > 0 } next ? next : null;
        }
        while (request.ExclusiveStartKey != null);
        return keys;
    }

    /// <summary>A client whose requests go to the hosts in turn (unsigned hosts accept any Host header).</summary>
    private static AmazonDynamoDBClient Alternating(params HostProcess[] hosts) =>
        hosts[0].CreateClient(c => c.HttpClientFactory = new AlternatingFactory([.. hosts.Select(h => h.Port)]));

    private sealed class AlternatingFactory(int[] ports) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Rotate(ports)) { Timeout = TimeSpan.FromSeconds(30) };

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
    }

    private sealed class Rotate(int[] ports) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _next;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var port = ports[(Interlocked.Increment(ref _next) & int.MaxValue) % ports.Length];
            request.RequestUri = new UriBuilder(request.RequestUri!) { Port = port }.Uri;
            request.Headers.Host = null;
            return base.SendAsync(request, cancellationToken);
        }
    }
}
