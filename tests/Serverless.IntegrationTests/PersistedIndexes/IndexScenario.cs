using System.Collections.Concurrent;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.PersistedIndexes;

/// <summary>
/// The scenario the persisted-index recovery tests share (data directory and blob storage): a table with a GSI, an
/// LSI and TTL, random writes recorded in a model, forced checkpoints, and a check that Scan, Query (both ways) and
/// both indexes agree with the model.
/// </summary>
internal static class IndexScenario
{
    public const string Table = "persisted";

    /// <summary>
    /// Creates the table (with TTL) through a client that makes one attempt per call and waits long: on a loaded
    /// machine the SDK's own retry of a CreateTable whose first attempt timed out after it had committed failed with
    /// "Table already exists". A call answered with a server error (a blob append that failed) is made again, and then
    /// the refusal saying the earlier attempt took effect counts as success.
    /// </summary>
    public static async Task CreateAsync(HostProcess host)
    {
        using var client = host.CreateClient(c => (c.MaxErrorRetry, c.Timeout) = (0, TimeSpan.FromSeconds(120)));
        await OnceAsync(() => client.CreateTableAsync(CreateRequest()), e => e is ResourceInUseException);
        await OnceAsync(
            () => client.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest
            {
                TableName = Table, TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = "ttl", Enabled = true },
            }),
            e => e.Message == "TimeToLive is already enabled");
    }

    private static async Task OnceAsync(Func<Task> call, Func<AmazonServiceException, bool> earlierAttemptTookEffect)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (AmazonServiceException e) when ((int)e.StatusCode >= 500 && attempt < 5)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
            catch (AmazonServiceException e) when (attempt > 1 && earlierAttemptTookEffect(e))
            {
                return;
            }
        }
    }

    private static CreateTableRequest CreateRequest() => new()
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
    };

    /// <summary>What the test believes the table holds: pk|sk → (g, l, expired).</summary>
    public sealed class Model
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

    public static async Task WriteRoundAsync(AmazonDynamoDBClient client, Model model, Random random, int writes)
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

    public static async Task CheckpointAsync(HostProcess host)
    {
        using var response = await host.SendAdminAsync(HttpMethod.Post, "/admin/functions/Checkpoint");
        response.EnsureSuccessStatusCode();
    }

    public static async Task<List<Dictionary<string, AttributeValue>>> QueryAllAsync(AmazonDynamoDBClient client, QueryRequest request)
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
    public static async Task VerifyAsync(AmazonDynamoDBClient client, Model model)
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

    /// <summary>
    /// Writers (distinct keys per writer, so the model knows each key's last acknowledged state) while checkpoints are
    /// forced back to back; the SIGKILL lands after <paramref name="killAfterMs"/>, a random moment, often
    /// mid-checkpoint. Returns the keys whose put was in flight at the kill.
    /// </summary>
    public static async Task<ICollection<(string, int)>> KillDuringWritesAndCheckpointsAsync(HostProcess host, Model model, int seed, int killAfterMs)
    {
        using var stop = new CancellationTokenSource();
        var inDoubt = new ConcurrentDictionary<(string, int), bool>();
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            using var client = host.CreateClient(c => c.MaxErrorRetry = 0);
            var r = new Random(seed + w);
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
        await Task.Delay(killAfterMs);
        await host.KillAsync();
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        await checkpoints;
        return inDoubt.Keys;
    }

    /// <summary>A put in flight at the kill may or may not have landed: take the store's word for those keys only.</summary>
    public static async Task ResolveInDoubtAsync(AmazonDynamoDBClient client, Model model, IEnumerable<(string, int)> inDoubt)
    {
        foreach (var key in inDoubt)
        {
            var got = await client.GetItemAsync(Table, new Dictionary<string, AttributeValue> { ["pk"] = new() { S = key.Item1 }, ["sk"] = new() { N = key.Item2.ToString() } });
            if (got.IsItemSet) model.Items[key] = (got.Item["g"].S, int.Parse(got.Item["l"].N), false);
        }
    }

    /// <summary>
    /// Runs a checkpoint that dies (SIGKILL, the <c>SERVERLESS_TEST_KILL_BEFORE_MANIFEST</c> hook) once its runs are
    /// written (with blob storage: uploaded) and before its manifest is.
    /// </summary>
    public static async Task CheckpointDiesBeforeManifestAsync(HostProcess host, string killFile)
    {
        File.WriteAllText(killFile, "");
        try
        {
            using var http = host.CreateHttpClient();
            await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                using var r = await http.PostAsync(host.ServiceUrl + "/admin/functions/Checkpoint", null);
                r.EnsureSuccessStatusCode();
            });
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!host.HasExited && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.True(host.HasExited, "The checkpoint did not reach the test hook.");
        }
        finally
        {
            File.Delete(killFile);
        }
    }
}
