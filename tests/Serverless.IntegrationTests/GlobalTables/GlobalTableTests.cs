using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.GlobalTables;

/// <summary>
/// Global tables (version 2019.11.21) in one local host serving several regions, through the AWS SDK with one
/// client per region: UpdateTable ReplicaUpdates, the first copy, replication both ways, last writer wins,
/// settings kept in sync, removal, three regions, and a SIGKILL in the middle of replication.
/// </summary>
public sealed class GlobalTableTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ReplicaAddedToATableWithItems_HasEveryItemAndEveryLaterChange_BothWays_AndConverges()
    {
        await using var host = await StartAsync("us-east-1,eu-west-1");
        try
        {
            await ReplicaAddedToATableWithItemsAsync(host);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + "\n" + host.Output, e);
        }
    }

    private static async Task ReplicaAddedToATableWithItemsAsync(HostProcess host)
    {
        using var east = host.CreateClient();
        using var west = host.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        await east.CreateTableAsync(RegionsTests.Schema("music"));
        for (var i = 0; i < 40; i++) await east.PutItemAsync("music", Item($"k{i}", $"v{i}"));

        // AWS's preconditions, checked before anything changes.
        await ExpectValidationAsync("Cannot add or delete the local region through ReplicaUpdates. Use CreateTable, DeleteTable, or UpdateTable as required.",
            () => east.UpdateTableAsync(AddReplica("music", "us-east-1")));
        await ExpectValidationAsync("Region ap-south-1 is not supported.", () => east.UpdateTableAsync(AddReplica("music", "ap-south-1")));
        await ExpectValidationAsync("Multi-Region strong consistency", () => east.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = "music", MultiRegionConsistency = MultiRegionConsistency.STRONG, ReplicaUpdates = AddReplica("music", "eu-west-1").ReplicaUpdates,
        }));
        await ExpectValidationAsync("Update table operation with more than one create or delete replica actions not allowed", () => east.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = "music",
            ReplicaUpdates = [.. AddReplica("music", "eu-west-1").ReplicaUpdates, .. AddReplica("music", "ap-south-1").ReplicaUpdates],
        }));

        var updating = await east.UpdateTableAsync(AddReplica("music", "eu-west-1"));
        Assert.Equal("UPDATING", updating.TableDescription.TableStatus.Value);
        Assert.Equal("2019.11.21", updating.TableDescription.GlobalTableVersion);
        Assert.Equal("CREATING", Assert.Single(updating.TableDescription.Replicas).ReplicaStatus.Value);
        Assert.Equal("NEW_AND_OLD_IMAGES", updating.TableDescription.StreamSpecification.StreamViewType.Value); // enabled, as AWS does
        // While the replica is being created, another change is refused (once it is ACTIVE, it already exists).
        var again = await Assert.ThrowsAnyAsync<AmazonDynamoDBException>(() => east.UpdateTableAsync(AddReplica("music", "eu-west-1")));
        Assert.True(again.ErrorCode == "ResourceInUseException" || again.Message.Contains("already existed", StringComparison.Ordinal), again.Message);

        await EventuallyAsync(async () => (await east.DescribeTableAsync("music")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }]);
        var eastTable = (await east.DescribeTableAsync("music")).Table;
        Assert.Equal("ACTIVE", eastTable.TableStatus.Value);
        var westTable = (await west.DescribeTableAsync("music")).Table;
        Assert.Equal("2019.11.21", westTable.GlobalTableVersion);
        Assert.Equal("us-east-1", Assert.Single(westTable.Replicas).RegionName);
        Assert.Equal("arn:aws:dynamodb:eu-west-1:000000000000:table/music", westTable.TableArn);
        Assert.Equal(40, (await west.ScanAsync(new ScanRequest("music"))).Count);
        Assert.Equal("v7", (await west.GetItemAsync("music", Key("k7"))).Item["v"].S);

        // Later changes, each way: put, update, delete.
        var westWritesBefore = await ConsumedWritesAsync(host, "eu-west-1", "music");
        await east.PutItemAsync("music", Item("new-east", "1"));
        await east.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = "music", Key = Key("k1"), UpdateExpression = "SET v = :v", ExpressionAttributeValues = new() { [":v"] = new() { S = "changed" } },
        });
        await east.DeleteItemAsync("music", Key("k2"));
        await west.PutItemAsync("music", Item("new-west", "2"));
        await EventuallyAsync(async () => (await west.GetItemAsync("music", Key("new-east"))).IsItemSet
            && (await west.GetItemAsync("music", Key("k1"))).Item["v"].S == "changed"
            && !(await west.GetItemAsync("music", Key("k2"))).IsItemSet);
        await EventuallyAsync(async () => (await east.GetItemAsync("music", Key("new-west"))).IsItemSet);
        // Replicated writes consume no capacity in the receiving region.
        Assert.Equal(westWritesBefore + 1, await ConsumedWritesAsync(host, "eu-west-1", "music"));

        // Concurrent writers in both regions on the same keys: every replica ends with the same items.
        var writers = new[] { east, west }.SelectMany((client, r) => Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 60; i++) await client.PutItemAsync("music", Item($"hot{i % 6}", $"r{r}w{w}i{i}"));
        }))).ToArray();
        await Task.WhenAll(writers);
        await EventuallyAsync(async () => Snapshot(await ScanAllAsync(east)) == Snapshot(await ScanAllAsync(west)));
        Assert.Equal(40 - 1 + 2 + 6, (await ScanAllAsync(west)).Count);

        // Settings kept in sync: a GSI added after the table went global is in both regions, backfilled; TTL too.
        await east.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = "music",
            AttributeDefinitions = [new AttributeDefinition("v", ScalarAttributeType.S)],
            GlobalSecondaryIndexUpdates =
            [
                new GlobalSecondaryIndexUpdate
                {
                    Create = new CreateGlobalSecondaryIndexAction
                    {
                        IndexName = "by-v", KeySchema = [new KeySchemaElement("v", KeyType.HASH)], Projection = new Projection { ProjectionType = ProjectionType.ALL },
                    },
                },
            ],
        });
        await west.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = "music", TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = "expires", Enabled = true } });
        await EventuallyAsync(async () => (await west.DescribeTableAsync("music")).Table.GlobalSecondaryIndexes is [{ IndexStatus.Value: "ACTIVE" }]
            && (await west.QueryAsync(ByV("v7"))).Count == 1);
        await EventuallyAsync(async () => (await east.DescribeTimeToLiveAsync("music")).TimeToLiveDescription.AttributeName == "expires");
        Assert.Equal(1, (await east.QueryAsync(ByV("v7"))).Count);

        // ReplicaUpdates Delete: the replica goes, and the table is no longer global.
        await east.UpdateTableAsync(new UpdateTableRequest { TableName = "music", ReplicaUpdates = [new ReplicationGroupUpdate { Delete = new DeleteReplicationGroupMemberAction { RegionName = "eu-west-1" } }] });
        await EventuallyAsync(async () => !(await west.ListTablesAsync()).TableNames.Contains("music"));
        await EventuallyAsync(async () => (await east.DescribeTableAsync("music")).Table.Replicas is null or { Count: 0 });
        Assert.Equal(47, (await ScanAllAsync(east)).Count);

        // ReplicationLatency per region pair in /admin/metrics.
        using var metrics = JsonDocument.Parse(await (await host.SendAdminAsync(HttpMethod.Get, "/admin/metrics")).Content.ReadAsStringAsync());
        var latency = metrics.RootElement.GetProperty("ReplicationLatency").EnumerateArray().ToList();
        Assert.Contains(latency, l => l.GetProperty("SourceRegion").GetString() == "us-east-1" && l.GetProperty("ReceivingRegion").GetString() == "eu-west-1" && l.GetProperty("Count").GetInt64() > 0);
        Assert.Contains(latency, l => l.GetProperty("SourceRegion").GetString() == "eu-west-1" && l.GetProperty("ReceivingRegion").GetString() == "us-east-1");
    }

    [Fact]
    public async Task AProvisionedTable_GetsAReplicaOnlyOnceItsWriteCapacityIsAutoScaled()
    {
        await using var host = await StartAsync("us-east-1,eu-west-1");
        using var east = host.CreateClient();
        await east.CreateTableAsync(new CreateTableRequest
        {
            TableName = "fixed", KeySchema = [new KeySchemaElement("pk", KeyType.HASH)], AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            ProvisionedThroughput = new ProvisionedThroughput(5, 5),
        });
        await ExpectValidationAsync("Table write capacity should either be Pay-Per-Request or AutoScaled.", () => east.UpdateTableAsync(AddReplica("fixed", "eu-west-1")));
        Assert.Null((await east.DescribeTableAsync("fixed")).Table.Replicas is { Count: > 0 } ? "replica" : null);

        // A scalable target for the table's write capacity (Application Auto Scaling, through boto3) is enough.
        var calls = JsonSerializer.Serialize(new object[]
        {
            new object[] { "register_scalable_target", new { ServiceNamespace = "dynamodb", ResourceId = "table/fixed", ScalableDimension = "dynamodb:table:WriteCapacityUnits", MinCapacity = 5, MaxCapacity = 50 } },
        });
        var output = await Clients.PythonScript.RunWithPathPythonAsync(Path.Combine("..", "AutoScaling", "autoscaling_calls.py"), host, new Dictionary<string, string> { ["AAS_CALLS"] = calls });
        Assert.DoesNotContain("\"Error\"", output, StringComparison.Ordinal);
        await east.UpdateTableAsync(AddReplica("fixed", "eu-west-1"));
        await EventuallyAsync(async () => (await east.DescribeTableAsync("fixed")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }]);
    }

    [Fact]
    public async Task ThreeRegions_WritesAnywhereReachEveryReplica_AndDeleteTableOfAReplicaRemovesIt()
    {
        await using var host = await StartAsync("us-east-1,eu-west-1,ap-southeast-2");
        using var east = host.CreateClient();
        using var west = host.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        using var south = host.CreateClient(c => c.AuthenticationRegion = "ap-southeast-2");
        await east.CreateTableAsync(RegionsTests.Schema("three"));
        await east.PutItemAsync("three", Item("before", "0"));
        await east.UpdateTableAsync(AddReplica("three", "eu-west-1"));
        await EventuallyAsync(async () => (await east.DescribeTableAsync("three")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }]);
        await west.PutItemAsync("three", Item("west-before-third", "1"));
        await east.UpdateTableAsync(AddReplica("three", "ap-southeast-2"));
        await EventuallyAsync(async () => (await east.DescribeTableAsync("three")).Table.Replicas is { Count: 2 } r && r.All(x => x.ReplicaStatus.Value == "ACTIVE"));
        await EventuallyAsync(async () => (await west.DescribeTableAsync("three")).Table.Replicas is { Count: 2 });

        await east.PutItemAsync("three", Item("from-east", "e"));
        await west.PutItemAsync("three", Item("from-west", "w"));
        await south.PutItemAsync("three", Item("from-south", "s"));
        foreach (var client in new[] { east, west, south })
        {
            await EventuallyAsync(async () => (await ScanAllAsync(client, "three")).Count == 5);
        }

        Assert.Equal(2, (await south.DescribeTableAsync("three")).Table.Replicas.Count);

        // DeleteTable of a replica removes it from the global table everywhere else.
        await south.DeleteTableAsync("three");
        await EventuallyAsync(async () => (await east.DescribeTableAsync("three")).Table.Replicas is [{ RegionName: "eu-west-1" }]);
        await EventuallyAsync(async () => (await west.DescribeTableAsync("three")).Table.Replicas is [{ RegionName: "us-east-1" }]);
        await west.PutItemAsync("three", Item("after", "x"));
        await EventuallyAsync(async () => (await east.GetItemAsync("three", Key("after"))).IsItemSet);
    }

    [Fact]
    public async Task Sigkill_InTheMiddleOfReplication_EveryAcknowledgedWriteReachesEveryRegion()
    {
        await using var host = await StartAsync("us-east-1,eu-west-1");
        using (var east = host.CreateClient())
        {
            await east.CreateTableAsync(RegionsTests.Schema("durable"));
            await east.UpdateTableAsync(AddReplica("durable", "eu-west-1"));
            try
            {
                await EventuallyAsync(async () => (await east.DescribeTableAsync("durable")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }]);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException(e.Message + "\n" + host.Output, e);
            }
        }

        var acknowledged = new ConcurrentBag<(string Region, string Key)>();
        using var stop = new CancellationTokenSource();
        var writers = new[] { "us-east-1", "eu-west-1" }.Select(region => Task.Run(async () =>
        {
            using var client = host.CreateClient(c =>
            {
                c.AuthenticationRegion = region;
                c.MaxErrorRetry = 0;
            });
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"{region}-{i}";
                try
                {
                    await client.PutItemAsync("durable", Item(key, new string('x', 200)));
                    acknowledged.Add((region, key));
                }
                catch (Exception)
                {
                    return; // the kill cut the connection
                }
            }
        })).ToArray();

        await Task.Delay(1500);
        await host.KillAsync();
        stop.Cancel();
        await Task.WhenAll(writers);
        Assert.True(acknowledged.Count > 20, $"only {acknowledged.Count} writes were acknowledged before the kill");

        await host.RestartAsync();
        using var east2 = host.CreateClient();
        using var west2 = host.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        foreach (var client in new[] { east2, west2 })
        {
            await EventuallyAsync(async () =>
            {
                var keys = (await ScanAllAsync(client, "durable")).Select(i => i["pk"].S).ToHashSet();
                return acknowledged.All(a => keys.Contains(a.Key));
            });
        }
    }

    internal static Task<HostProcess> StartAsync(string regions, Dictionary<string, string>? more = null)
    {
        var environment = new Dictionary<string, string> { ["LocalHost__Regions"] = regions };
        foreach (var (k, v) in more ?? []) environment[k] = v;
        return HostProcess.StartAsync(new HostProcessOptions { Environment = environment });
    }

    internal static UpdateTableRequest AddReplica(string table, string region) => new()
    {
        TableName = table, ReplicaUpdates = [new ReplicationGroupUpdate { Create = new CreateReplicationGroupMemberAction { RegionName = region } }],
    };

    private static QueryRequest ByV(string v) => new()
    {
        TableName = "music", IndexName = "by-v", KeyConditionExpression = "v = :v", ExpressionAttributeValues = new() { [":v"] = new() { S = v } },
    };

    internal static Dictionary<string, AttributeValue> Item(string pk, string v) => new() { ["pk"] = new() { S = pk }, ["v"] = new() { S = v } };

    internal static Dictionary<string, AttributeValue> Key(string pk) => new() { ["pk"] = new() { S = pk } };

    private static async Task<List<Dictionary<string, AttributeValue>>> ScanAllAsync(AmazonDynamoDBClient client, string table = "music")
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await client.ScanAsync(new ScanRequest(table) { ExclusiveStartKey = start, ConsistentRead = true });
            items.AddRange(page.Items);
            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start != null);
        return items;
    }

    private static string Snapshot(List<Dictionary<string, AttributeValue>> items) =>
        string.Join(";", items.Select(i => $"{i["pk"].S}={i["v"].S}").OrderBy(s => s, StringComparer.Ordinal));

    private static async Task<double> ConsumedWritesAsync(HostProcess host, string region, string table)
    {
        using var metrics = JsonDocument.Parse(await (await host.SendAdminAsync(HttpMethod.Get, "/admin/metrics")).Content.ReadAsStringAsync());
        foreach (var t in metrics.RootElement.GetProperty("Regions").GetProperty(region).GetProperty("Tables").EnumerateArray())
        {
            if (t.GetProperty("TableName").GetString() == table) return t.GetProperty("ConsumedWriteCapacityUnits").GetDouble();
        }

        return 0;
    }

    internal static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan? within = null, [CallerLineNumber] int line = 0)
    {
        var deadline = DateTime.UtcNow + (within ?? Patience);
        while (true)
        {
            if (await condition()) return;
            Assert.True(DateTime.UtcNow < deadline, $"condition at line {line} not met in time");
            await Task.Delay(100);
        }
    }

    private static async Task ExpectValidationAsync(string fragment, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(call);
        Assert.Equal("ValidationException", e.ErrorCode);
        Assert.Contains(fragment, e.Message);
    }

}
