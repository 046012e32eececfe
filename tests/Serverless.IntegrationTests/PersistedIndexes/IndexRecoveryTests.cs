using System.Collections.Concurrent;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.PersistedIndexes;

/// <summary>
/// The ordered indexes (table keys, GSI, LSI, TTL) are checkpointed and maintained by replay: after a SIGKILL at any
/// point, including between writing index runs and writing the manifest, Query, Scan, the indexes and TTL answer
/// exactly as before the crash, for every acknowledged write.
/// </summary>
public sealed class IndexRecoveryTests
{
    private const string Table = "persisted";

    private static HostProcessOptions Options(string killFile) => new()
    {
        Environment = new Dictionary<string, string>
        {
            ["SERVERLESS_TEST_KILL_BEFORE_MANIFEST"] = killFile,
            ["Engine__CheckpointLogBytes"] = (1L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), // checkpoints only when asked
            ["TtlSweepSchedule"] = "0 0 0 1 1 *", // the test runs the sweep itself
        },
    };

    private static async Task CreateAsync(AmazonDynamoDBClient client)
    {
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = Table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
            AttributeDefinitions =
            [
                new AttributeDefinition("pk", ScalarAttributeType.S), new AttributeDefinition("sk", ScalarAttributeType.N),
                new AttributeDefinition("g", ScalarAttributeType.S), new AttributeDefinition("l", ScalarAttributeType.N),
            ],
            GlobalSecondaryIndexes =
            [
                new GlobalSecondaryIndex
                {
                    IndexName = "by-g", KeySchema = [new KeySchemaElement("g", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
                    Projection = new Projection { ProjectionType = ProjectionType.ALL },
                },
            ],
            LocalSecondaryIndexes =
            [
                new LocalSecondaryIndex
                {
                    IndexName = "by-l", KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("l", KeyType.RANGE)],
                    Projection = new Projection { ProjectionType = ProjectionType.KEYS_ONLY },
                },
            ],
        });
        await client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
        {
            TableName = Table, TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = "ttl", Enabled = true },
        });
    }

    /// <summary>What the test believes the table holds: pk|sk → (g, l, expired).</summary>
    private sealed class Model
    {
        public readonly ConcurrentDictionary<(string Pk, int Sk), (string G, int L, bool Expired)> Items = new();

        public static Dictionary<string, AttributeValue> Item(string pk, int sk, string g, int l, bool expired) => new()
        {
            ["pk"] = new() { S = pk }, ["sk"] = new() { N = sk.ToString() }, ["g"] = new() { S = g }, ["l"] = new() { N = l.ToString() },
            // Expired items carry a TTL an hour in the past (the sweep deletes them; AWS leaves alone items that
            // expired more than five years ago); the others one far in the future.
            ["ttl"] = new() { N = expired ? (DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600).ToString() : "4000000000" },
            ["payload"] = new() { S = new string('p', 80) },
        };
    }

    private static async Task WriteRoundAsync(AmazonDynamoDBClient client, Model model, Random random, int writes)
    {
        for (var i = 0; i < writes; i++)
        {
            var pk = "p" + random.Next(12);
            var sk = random.Next(60);
            if (random.Next(5) == 0)
            {
                await client.DeleteItemAsync(Table, new Dictionary<string, AttributeValue> { ["pk"] = new() { S = pk }, ["sk"] = new() { N = sk.ToString() } });
                model.Items.TryRemove((pk, sk), out _);
            }
            else
            {
                var g = "g" + random.Next(7);
                var l = random.Next(1000);
                var expired = random.Next(10) == 0;
                await client.PutItemAsync(Table, Model.Item(pk, sk, g, l, expired));
                model.Items[(pk, sk)] = (g, l, expired);
            }
        }
    }

    private static async Task CheckpointAsync(HostProcess host)
    {
        using var response = await host.SendAdminAsync(HttpMethod.Post, "/admin/functions/Checkpoint");
        response.EnsureSuccessStatusCode();
    }

    private static async Task<List<Dictionary<string, AttributeValue>>> QueryAllAsync(AmazonDynamoDBClient client, QueryRequest request)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        do
        {
            var page = await client.QueryAsync(request);
            items.AddRange(page.Items);
            request.ExclusiveStartKey = page.LastEvaluatedKey;
        }
        while (request.ExclusiveStartKey is { Count: > 0 });
        return items;
    }

    /// <summary>Query by partition (forward and backward), the GSI, the LSI and a paged Scan all agree with the model.</summary>
    private static async Task VerifyAsync(AmazonDynamoDBClient client, Model model)
    {
        var expected = model.Items.OrderBy(p => p.Key.Pk, StringComparer.Ordinal).ThenBy(p => p.Key.Sk).ToList();
        var scanned = new List<(string, int)>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await client.ScanAsync(new ScanRequest { TableName = Table, Limit = 37, ExclusiveStartKey = start });
            scanned.AddRange(page.Items.Select(i => (i["pk"].S, int.Parse(i["sk"].N))));
            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start != null);
        Assert.Equal(expected.Select(p => p.Key).OrderBy(k => k).ToList(), scanned.OrderBy(k => k).ToList());

        foreach (var pk in Enumerable.Range(0, 12).Select(i => "p" + i))
        {
            var want = expected.Where(p => p.Key.Pk == pk).Select(p => p.Key.Sk).ToList();
            var got = await QueryAllAsync(client, new QueryRequest
            {
                TableName = Table, KeyConditionExpression = "pk = :p", Limit = 9,
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":p"] = new() { S = pk } },
            });
            Assert.Equal(want, got.Select(i => int.Parse(i["sk"].N)).ToList());
            var back = await QueryAllAsync(client, new QueryRequest
            {
                TableName = Table, KeyConditionExpression = "pk = :p", ScanIndexForward = false, Limit = 4,
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":p"] = new() { S = pk } },
            });
            Assert.Equal(Enumerable.Reverse(want).ToList(), back.Select(i => int.Parse(i["sk"].N)).ToList());
            var byL = await QueryAllAsync(client, new QueryRequest
            {
                TableName = Table, IndexName = "by-l", KeyConditionExpression = "pk = :p", Limit = 5,
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":p"] = new() { S = pk } },
            });
            Assert.Equal(
                expected.Where(p => p.Key.Pk == pk).Select(p => (p.Value.L, p.Key.Sk)).Order().Select(x => x.L).ToList(),
                byL.Select(i => int.Parse(i["l"].N)).ToList());
        }

        foreach (var g in Enumerable.Range(0, 7).Select(i => "g" + i))
        {
            var got = await QueryAllAsync(client, new QueryRequest
            {
                TableName = Table, IndexName = "by-g", KeyConditionExpression = "g = :g", Limit = 11,
                ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":g"] = new() { S = g } },
            });
            Assert.Equal(
                expected.Where(p => p.Value.G == g).Select(p => (p.Key.Pk, p.Key.Sk)).OrderBy(k => k).ToList(),
                got.Select(i => (i["pk"].S, int.Parse(i["sk"].N))).OrderBy(k => k).ToList());
            Assert.All(got, i => Assert.Equal(g, i["g"].S));
        }
    }

    [Fact]
    public async Task SigkillBetweenRunsAndManifest_ThenRestart_IndexesAndTtlAnswerAsBefore()
    {
        var killFile = Path.Combine(Path.GetTempPath(), "kill-before-manifest-" + Guid.NewGuid().ToString("N"));
        await using var host = await HostProcess.StartAsync(Options(killFile));
        var model = new Model();
        var random = new Random(1301);
        using (var client = host.CreateClient())
        {
            await CreateAsync(client);
            await WriteRoundAsync(client, model, random, 500);
            await CheckpointAsync(host); // runs and manifest written
            await WriteRoundAsync(client, model, random, 400); // tombstones and moved entries over those runs
            await CheckpointAsync(host); // a second run of each index, maybe merged
            await WriteRoundAsync(client, model, random, 300);
            await VerifyAsync(client, model);
        }

        // The next checkpoint writes its runs and dies before the manifest: the old manifest and the log must do.
        File.WriteAllText(killFile, "");
        try
        {
            using var http = host.CreateHttpClient();
            await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                using var r = await http.PostAsync(host.ServiceUrl + "/admin/functions/Checkpoint", null);
                r.EnsureSuccessStatusCode();
            });
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!host.HasExited && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.True(host.HasExited, "The checkpoint did not reach the test hook.");
        }
        finally
        {
            File.Delete(killFile);
        }

        await host.KillAsync();
        await host.RestartAsync();
        using (var client = host.CreateClient())
        {
            await VerifyAsync(client, model);
            var table = (await client.DescribeTableAsync(Table)).Table;
            Assert.Equal(model.Items.Count, table.ItemCount);

            // TTL: the expiry index survived too, so the sweep finds exactly the expired items.
            using var http = host.CreateHttpClient();
            (await http.PostAsync(host.ServiceUrl + "/admin/functions/TtlSweep", new StringContent("{}"))).EnsureSuccessStatusCode();
            foreach (var expired in model.Items.Where(p => p.Value.Expired).Select(p => p.Key).ToList()) model.Items.TryRemove(expired, out _);
            await VerifyAsync(client, model);

            // Writes go on over the recovered indexes and survive a kill without any further checkpoint.
            await WriteRoundAsync(client, model, random, 300);
        }

        await host.KillAsync();
        await host.RestartAsync();
        using (var client = host.CreateClient())
        {
            await VerifyAsync(client, model);
            Assert.Equal(model.Items.Count, (await client.DescribeTableAsync(Table)).Table.ItemCount);
        }

    }

    [Theory]
    [InlineData(7)]
    [InlineData(29)]
    public async Task SigkillAtRandomMoments_WhileCheckpointsRun_LosesNoAcknowledgedIndexEntry(int seed)
    {
        var killFile = Path.Combine(Path.GetTempPath(), "never-" + Guid.NewGuid().ToString("N"));
        await using var host = await HostProcess.StartAsync(Options(killFile));
        using (var setup = host.CreateClient()) await CreateAsync(setup);
        var random = new Random(seed);
        var model = new Model();
        for (var round = 0; round < 3; round++)
        {
            // Writers (distinct keys per writer, so the model knows each key's last acknowledged state) while
            // checkpoints are forced back to back; the kill lands at a random moment, often mid-checkpoint.
            using var stop = new CancellationTokenSource();
            var inDoubt = new ConcurrentDictionary<(string, int), bool>();
            var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
            {
                using var client = host.CreateClient(c => c.MaxErrorRetry = 0);
                var r = new Random(seed * 100 + round * 10 + w);
                while (!stop.IsCancellationRequested)
                {
                    var key = ("w" + w, r.Next(150));
                    var value = ("g" + r.Next(7), r.Next(1000), false);
                    inDoubt[key] = true;
                    try
                    {
                        await client.PutItemAsync(Table, Model.Item(key.Item1, key.Item2, value.Item1, value.Item2, false));
                        model.Items[key] = value;
                        inDoubt.TryRemove(key, out _);
                    }
                    catch (Exception e) when (e is HttpRequestException or AmazonServiceException or TaskCanceledException or IOException || host.HasExited)
                    {
                        return;
                    }
                }
            })).ToArray();
            var checkpoints = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        await CheckpointAsync(host);
                    }
                    catch (Exception)
                    {
                        return;
                    }
                }
            });
            await Task.Delay(1500 + random.Next(2500));
            await host.KillAsync();
            stop.Cancel();
            await Task.WhenAll(writers);
            await checkpoints;
            await host.RestartAsync();

            using var client = host.CreateClient();
            // A put in flight at the kill may or may not have landed: take the store's word for those keys only.
            foreach (var key in inDoubt.Keys)
            {
                var got = await client.GetItemAsync(Table, new Dictionary<string, AttributeValue> { ["pk"] = new() { S = key.Item1 }, ["sk"] = new() { N = key.Item2.ToString() } });
                if (got.IsItemSet) model.Items[key] = (got.Item["g"].S, int.Parse(got.Item["l"].N), false);
            }

            await VerifyAsync(client, model);
            Assert.Equal(model.Items.Count, (await client.DescribeTableAsync(Table)).Table.ItemCount);
        }
    }
}
