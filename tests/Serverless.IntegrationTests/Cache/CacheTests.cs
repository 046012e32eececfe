using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Cache;

/// <summary>
/// The DAX-style cache through unchanged clients: AWSSDK.DynamoDBv2 pointed at a cluster's endpoint
/// (<c>/dax/{cluster}</c>), the control plane as boto3's dax client speaks it, and the host's cache metrics.
/// </summary>
public sealed class CacheTests(DaxHostFixture fixture) : IClassFixture<DaxHostFixture>
{
    private HostProcess Host => fixture.Host;

    private async Task<(AmazonDynamoDBClient Direct, AmazonDynamoDBClient Cached, string Table, string Cluster)> SetUpAsync(string? parameterGroup = null)
    {
        var direct = Host.CreateClient();
        var table = await CreateAsync(direct, "dax");
        var cluster = Dax.NewCluster();
        var url = await Dax.CreateClusterAsync(Host, cluster, parameterGroup);
        Assert.Equal($"{Host.ServiceUrl}/dax/{cluster}", url);
        return (direct, Dax.ClientFor(Host, url), table, cluster);
    }

    private static GetItemRequest Get(string table, string pk, bool consistent = false) =>
        new() { TableName = table, Key = Key(pk), ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL, ConsistentRead = consistent };

    [Fact]
    public async Task GetItem_MissThenHit_TheHitConsumesNoCapacity_AndBothAreCounted()
    {
        var (direct, cached, table, cluster) = await SetUpAsync();
        await direct.PutItemAsync(table, new() { ["pk"] = S("hot"), ["v"] = N("1") });

        var miss = await cached.GetItemAsync(Get(table, "hot"));
        var hit = await cached.GetItemAsync(Get(table, "hot"));
        Assert.Equal("1", miss.Item["v"].N);
        Assert.Equal("1", hit.Item["v"].N);
        Assert.Equal(0.5, miss.ConsumedCapacity.CapacityUnits);
        Assert.Equal(0.0, hit.ConsumedCapacity.CapacityUnits);
        Assert.Equal(table, hit.ConsumedCapacity.TableName);
        var counters = await Dax.MetricsAsync(Host, cluster);
        Assert.Equal((1, 1), (counters.Hits, counters.Misses));

        // Ten more hits reach the table's capacity accounting not at all.
        var before = await Dax.ConsumedReadsAsync(Host, table);
        for (var i = 0; i < 10; i++) Assert.Equal("1", (await cached.GetItemAsync(Get(table, "hot"))).Item["v"].N);
        Assert.Equal(before, await Dax.ConsumedReadsAsync(Host, table));
        Assert.Equal(11, (await Dax.MetricsAsync(Host, cluster)).Hits);
    }

    [Fact]
    public async Task GetItem_OfAnAbsentItem_IsCachedNegatively_UntilTheTableGetsIt()
    {
        var (direct, cached, table, cluster) = await SetUpAsync();
        Assert.False((await cached.GetItemAsync(Get(table, "nobody"))).IsItemSet);
        var second = await cached.GetItemAsync(Get(table, "nobody"));
        Assert.False(second.IsItemSet);
        Assert.Equal(0.0, second.ConsumedCapacity.CapacityUnits);
        Assert.Equal((1, 1), ((await Dax.MetricsAsync(Host, cluster)).Hits, (await Dax.MetricsAsync(Host, cluster)).Misses));

        // Better than DAX: a write straight to the table ends the negative entry at once.
        await direct.PutItemAsync(table, new() { ["pk"] = S("nobody"), ["v"] = N("7") });
        Assert.Equal("7", (await cached.GetItemAsync(Get(table, "nobody"))).Item["v"].N);
    }

    [Fact]
    public async Task Writes_ThroughTheCluster_AreWrittenThrough_SoTheNextReadIsAHit()
    {
        var (direct, cached, table, cluster) = await SetUpAsync();
        await cached.PutItemAsync(table, new() { ["pk"] = S("w"), ["v"] = N("1") });
        var read = await cached.GetItemAsync(Get(table, "w"));
        Assert.Equal("1", read.Item["v"].N);
        Assert.Equal(0.0, read.ConsumedCapacity.CapacityUnits);

        await cached.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table, Key = Key("w"), UpdateExpression = "SET v = v + :one", ExpressionAttributeValues = new() { [":one"] = N("1") },
        });
        var updated = await cached.GetItemAsync(Get(table, "w"));
        Assert.Equal("2", updated.Item["v"].N);
        Assert.Equal(0.0, updated.ConsumedCapacity.CapacityUnits);

        await cached.DeleteItemAsync(table, Key("w"));
        var deleted = await cached.GetItemAsync(Get(table, "w"));
        Assert.False(deleted.IsItemSet);
        Assert.Equal(0.0, deleted.ConsumedCapacity.CapacityUnits);
        var counters = await Dax.MetricsAsync(Host, cluster);
        Assert.Equal((3, 0), (counters.Hits, counters.Misses));
        Assert.False((await direct.GetItemAsync(table, Key("w"))).IsItemSet);
    }

    [Fact]
    public async Task DirectWrites_Transactions_AndTtlDeletes_InvalidateTheCache()
    {
        var (direct, cached, table, _) = await SetUpAsync();
        await direct.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = table, TimeToLiveSpecification = new() { AttributeName = "exp", Enabled = true } });
        await direct.PutItemAsync(table, new() { ["pk"] = S("a"), ["v"] = N("1") });
        await direct.PutItemAsync(table, new() { ["pk"] = S("old"), ["exp"] = N((DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60).ToString()) });
        Assert.Equal("1", (await cached.GetItemAsync(Get(table, "a"))).Item["v"].N);
        Assert.Equal("1", (await cached.GetItemAsync(Get(table, "a"))).Item["v"].N);

        await direct.UpdateItemAsync(new UpdateItemRequest { TableName = table, Key = Key("a"), UpdateExpression = "SET v = :v", ExpressionAttributeValues = new() { [":v"] = N("2") } });
        Assert.Equal("2", (await cached.GetItemAsync(Get(table, "a"))).Item["v"].N);

        await direct.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems = [new() { Put = new Put { TableName = table, Item = new() { ["pk"] = S("a"), ["v"] = N("3") } } }],
        });
        Assert.Equal("3", (await cached.GetItemAsync(Get(table, "a"))).Item["v"].N);

        // The expired item is cached as present, then the TTL sweep deletes it from the table and the cache.
        Assert.True((await cached.GetItemAsync(Get(table, "old"))).IsItemSet);
        Assert.True((await cached.GetItemAsync(Get(table, "old"))).IsItemSet);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await direct.GetItemAsync(table, Key("old"))).IsItemSet && DateTime.UtcNow < deadline)
        {
            using var sweep = await Host.SendAdminAsync(HttpMethod.Post, "/admin/functions/TtlSweep", Dax.Utf8("{}"));
            Assert.Equal(System.Net.HttpStatusCode.Accepted, sweep.StatusCode);
        }

        Assert.False((await direct.GetItemAsync(table, Key("old"))).IsItemSet);
        Assert.False((await cached.GetItemAsync(Get(table, "old"))).IsItemSet);
    }

    [Fact]
    public async Task QueryAndScan_AreCachedByTheirParameters_AndInvalidatedByAnyWriteToTheTable()
    {
        var (direct, cached, table, cluster) = await SetUpAsync();
        await direct.PutItemAsync(table, new() { ["pk"] = S("q1"), ["v"] = N("1") });
        var query = new QueryRequest
        {
            TableName = table, KeyConditionExpression = "pk = :p", ExpressionAttributeValues = new() { [":p"] = S("q1") },
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        };
        var first = await cached.QueryAsync(query);
        var second = await cached.QueryAsync(query);
        Assert.Equal(1, first.Count);
        Assert.Equal(1, second.Count);
        Assert.Equal(0.5, first.ConsumedCapacity.CapacityUnits);
        Assert.Equal(0.0, second.ConsumedCapacity.CapacityUnits);
        var scan = new ScanRequest { TableName = table, ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL };
        Assert.Equal(1, (await cached.ScanAsync(scan)).Count);
        Assert.Equal(0.0, (await cached.ScanAsync(scan)).ConsumedCapacity.CapacityUnits);
        Assert.Equal((2, 2), ((await Dax.MetricsAsync(Host, cluster)).Hits, (await Dax.MetricsAsync(Host, cluster)).Misses));

        // A write elsewhere in the table drops the table's cached results: the next Scan sees the new item.
        await direct.PutItemAsync(table, new() { ["pk"] = S("q2"), ["v"] = N("2") });
        Assert.Equal(2, (await cached.ScanAsync(scan)).Count);
        Assert.Equal(1, (await cached.QueryAsync(query)).Count);
        Assert.Equal(4, (await Dax.MetricsAsync(Host, cluster)).Misses);
    }

    [Fact]
    public async Task ConsistentReads_AndTransactGetItems_PassThroughUncached()
    {
        var (direct, cached, table, cluster) = await SetUpAsync();
        await direct.PutItemAsync(table, new() { ["pk"] = S("c"), ["v"] = N("1") });
        for (var i = 0; i < 3; i++) Assert.Equal(1.0, (await cached.GetItemAsync(Get(table, "c", consistent: true))).ConsumedCapacity.CapacityUnits);
        var query = new QueryRequest
        {
            TableName = table, ConsistentRead = true, KeyConditionExpression = "pk = :p", ExpressionAttributeValues = new() { [":p"] = S("c") },
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        };
        Assert.Equal(1.0, (await cached.QueryAsync(query)).ConsumedCapacity.CapacityUnits);
        Assert.Equal(1.0, (await cached.QueryAsync(query)).ConsumedCapacity.CapacityUnits);
        var tx = await cached.TransactGetItemsAsync(new TransactGetItemsRequest
        {
            TransactItems = [new() { Get = new Get { TableName = table, Key = Key("c") } }], ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        });
        Assert.Equal("1", tx.Responses[0].Item["v"].N);
        Assert.Equal(2.0, tx.ConsumedCapacity[0].CapacityUnits);
        var counters = await Dax.MetricsAsync(Host, cluster);
        Assert.Equal((0, 0), (counters.Hits, counters.Misses));
    }

    [Fact]
    public async Task BatchGetItem_IsCached_WithNegativeEntries_AndInvalidatedPerItem()
    {
        var (direct, cached, table, cluster) = await SetUpAsync();
        await direct.PutItemAsync(table, new() { ["pk"] = S("b1"), ["v"] = N("1") });
        var batch = new BatchGetItemRequest
        {
            RequestItems = new() { [table] = new KeysAndAttributes { Keys = [Key("b1"), Key("b-absent")] } },
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        };
        var miss = await cached.BatchGetItemAsync(batch);
        var hit = await cached.BatchGetItemAsync(batch);
        Assert.Single(miss.Responses[table]);
        Assert.Single(hit.Responses[table]);
        Assert.Equal(0.0, hit.ConsumedCapacity.Single().CapacityUnits);
        Assert.Equal((1, 1), ((await Dax.MetricsAsync(Host, cluster)).Hits, (await Dax.MetricsAsync(Host, cluster)).Misses));

        await direct.PutItemAsync(table, new() { ["pk"] = S("b-absent"), ["v"] = N("2") });
        Assert.Equal(2, (await cached.BatchGetItemAsync(batch)).Responses[table].Count);
    }

    [Fact]
    public async Task RecordTtl_ExpiresWithTheClock_AndDaxModeServesStaleUntilThen()
    {
        var group = "stale" + Guid.NewGuid().ToString("N")[..8];
        await Dax.CreateParameterGroupAsync(Host, group, ("record-ttl-millis", "60000"), ("invalidate-on-table-writes", "false"));
        var (direct, cached, table, cluster) = await SetUpAsync(group);
        await direct.PutItemAsync(table, new() { ["pk"] = S("s"), ["v"] = N("1") });
        Assert.Equal("1", (await cached.GetItemAsync(Get(table, "s"))).Item["v"].N);

        // DAX's behaviour, by parameter: a write straight to the table is not seen through the cache...
        await direct.PutItemAsync(table, new() { ["pk"] = S("s"), ["v"] = N("2") });
        Assert.Equal("1", (await cached.GetItemAsync(Get(table, "s"))).Item["v"].N);
        Assert.Equal(1, (await Dax.MetricsAsync(Host, cluster)).Hits);

        // ...until record-ttl-millis has passed.
        await Host.AdvanceClockAsync(TimeSpan.FromSeconds(61));
        var fresh = await cached.GetItemAsync(Get(table, "s"));
        Assert.Equal("2", fresh.Item["v"].N);
        Assert.Equal(0.5, fresh.ConsumedCapacity.CapacityUnits);
        Assert.Equal(2, (await Dax.MetricsAsync(Host, cluster)).Misses);
    }

    [Fact]
    public async Task DefaultTtl_Is300Seconds_ForItemsAndQueries()
    {
        var (direct, cached, table, cluster) = await SetUpAsync();
        await direct.PutItemAsync(table, new() { ["pk"] = S("t"), ["v"] = N("1") });
        var query = new QueryRequest { TableName = table, KeyConditionExpression = "pk = :p", ExpressionAttributeValues = new() { [":p"] = S("t") } };
        await cached.GetItemAsync(Get(table, "t"));
        await cached.QueryAsync(query);
        await Host.AdvanceClockAsync(TimeSpan.FromSeconds(200));
        await cached.GetItemAsync(Get(table, "t"));
        await cached.QueryAsync(query);
        Assert.Equal((2, 2), ((await Dax.MetricsAsync(Host, cluster)).Hits, (await Dax.MetricsAsync(Host, cluster)).Misses));
        await Host.AdvanceClockAsync(TimeSpan.FromSeconds(101));
        await cached.GetItemAsync(Get(table, "t"));
        await cached.QueryAsync(query);
        Assert.Equal((2, 4), ((await Dax.MetricsAsync(Host, cluster)).Hits, (await Dax.MetricsAsync(Host, cluster)).Misses));
    }

    [Fact]
    public async Task Lru_EvictsTheLeastRecentlyUsed_AtTheConfiguredMemory()
    {
        var (direct, cached, table, cluster) = await SetUpAsync();
        var blob = new string('x', 8 * 1024);
        for (var i = 0; i < 60; i++) await direct.PutItemAsync(table, new() { ["pk"] = S($"k{i}"), ["blob"] = S(blob) });

        // 60 answers of 8 KiB and more do not fit 256 KiB: the first ones read are evicted, the hot one is kept.
        for (var i = 0; i < 60; i++)
        {
            await cached.GetItemAsync(Get(table, $"k{i}"));
            await cached.GetItemAsync(Get(table, "k59"));
        }

        var counters = await Dax.MetricsAsync(Host, cluster);
        Assert.True(counters.Evictions > 20, $"evictions: {counters.Evictions}");
        Assert.True(counters.Bytes <= DaxHostFixture.MemoryBytes, $"bytes: {counters.Bytes}");
        Assert.Equal(0.0, (await cached.GetItemAsync(Get(table, "k59"))).ConsumedCapacity.CapacityUnits);
        // k0 was evicted: reading it again reads the table (an 8 KiB item: 1.5 units eventually consistent).
        Assert.Equal(1.5, (await cached.GetItemAsync(Get(table, "k0"))).ConsumedCapacity.CapacityUnits);
    }

    [Fact]
    public async Task DeletedCluster_EndpointAnswersClusterNotFoundFault()
    {
        var (_, cached, table, cluster) = await SetUpAsync();
        var deleted = await Dax.CallAsync(Host, "DeleteCluster", new { ClusterName = cluster });
        Assert.Equal("deleting", deleted.GetProperty("Cluster").GetProperty("Status").GetString());
        var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => cached.GetItemAsync(Get(table, "x")));
        Assert.Equal("ClusterNotFoundFault", e.ErrorCode);
        Assert.Equal($"Cluster {cluster} not found.", e.Message);
        var (status, json) = await Dax.TryCallAsync(Host, "DescribeClusters", new { ClusterNames = new[] { cluster } });
        Assert.Equal(400, status);
        Assert.Equal("ClusterNotFoundFault", json.GetProperty("__type").GetString());
    }

    [Fact]
    public async Task HotKey_Read1000TimesFromA1RcuTable_ThroughTheCacheIsNeverThrottled_StraightToTheTableItIs()
    {
        using var direct = Host.CreateClient(c => c.MaxErrorRetry = 0);
        var table = NewName("hot");
        await direct.CreateTableAsync(new CreateTableRequest
        {
            TableName = table, KeySchema = [new("pk", KeyType.HASH)], AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
            ProvisionedThroughput = new ProvisionedThroughput(1, 1),
        });
        await direct.PutItemAsync(table, new() { ["pk"] = S("hot"), ["v"] = N("1") });
        var cluster = Dax.NewCluster();
        var url = await Dax.CreateClusterAsync(Host, cluster);
        using var cached = Host.CreateClient(c =>
        {
            c.ServiceURL = url;
            c.MaxErrorRetry = 0;
        });

        for (var i = 0; i < 1000; i++) Assert.Equal("1", (await cached.GetItemAsync(table, Key("hot"))).Item["v"].N);
        Assert.Equal(999, (await Dax.MetricsAsync(Host, cluster)).Hits);

        var throttled = 0;
        for (var i = 0; i < 1000; i++)
        {
            try
            {
                await direct.GetItemAsync(table, Key("hot"));
            }
            catch (ProvisionedThroughputExceededException)
            {
                throttled++;
            }
        }

        Assert.True(throttled > 0, "reads straight to a 1-RCU table were never throttled");
    }

    [Fact]
    public async Task Boto3DaxClient_ManagesClustersAndParameterGroups_AndBoto3DynamoDbUsesTheClusterEndpoint()
    {
        var output = await PythonScript.RunWithPathPythonAsync("../Cache/dax_test.py", Host, new Dictionary<string, string>());
        Assert.Contains("ok", output);
    }
}

/// <summary>Hosts of their own: durability across a crash, and signature verification on a cluster's endpoint.</summary>
public sealed class CacheHostTests
{
    [Fact]
    public async Task InVerifyMode_TheControlPlaneAndTheClusterEndpoint_CheckSignatures_AndCacheAsUsual()
    {
        var key = new SigV4Key("AKIACACHE000EXAMPLE", "cache/K7MDENG+bPxRfiCYEXAMPLEKEY00000");
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            InMemory = true,
            Environment = new Dictionary<string, string>
            {
                ["Auth__Keys__0__AccessKeyId"] = key.AccessKeyId, ["Auth__Keys__0__SecretAccessKey"] = key.SecretAccessKey,
                ["Auth__Keys__0__Principal"] = "arn:aws:iam::000000000000:user/cache",
                ["Auth__Keys__0__Policy"] = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
            },
        });
        var cluster = Dax.NewCluster();
        var url = await Dax.CreateClusterAsync(host, cluster);
        using var direct = host.CreateClient();
        var table = await CreateAsync(direct, "signed");
        await direct.PutItemAsync(table, new() { ["pk"] = S("k"), ["v"] = N("1") });

        // The SDK signs the path /dax/<cluster>, and the host verifies it.
        using var cached = Dax.ClientFor(host, url);
        Assert.Equal("1", (await cached.GetItemAsync(table, Key("k"))).Item["v"].N);
        Assert.Equal("1", (await cached.GetItemAsync(table, Key("k"))).Item["v"].N);
        Assert.Equal(1, (await Dax.MetricsAsync(host, cluster)).Hits);

        using var forged = new AmazonDynamoDBClient(new Amazon.Runtime.BasicAWSCredentials(key.AccessKeyId, "not-the-secret"), new AmazonDynamoDBConfig
        {
            ServiceURL = url, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0,
        });
        var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => forged.GetItemAsync(table, Key("k")));
        Assert.Equal("InvalidSignatureException", e.ErrorCode);
        Assert.Equal(1, (await Dax.MetricsAsync(host, cluster)).Hits);
    }

    /// <summary>Clusters and parameter groups survive a crash of the host (cached data does not, by design).</summary>
    [Fact]
    public async Task ClustersAndParameterGroups_SurviveAKill_AndTheirEndpointsServeAgain()
    {
        await using var host = await DaxHostFixture.StartAsync(inMemory: false);
        var group = "durable" + Guid.NewGuid().ToString("N")[..6];
        await Dax.CreateParameterGroupAsync(host, group, ("query-ttl-millis", "1234"));
        var cluster = Dax.NewCluster();
        var url = await Dax.CreateClusterAsync(host, cluster, group);
        string table;
        using (var direct = host.CreateClient())
        {
            table = await CreateAsync(direct, "durable");
            await direct.PutItemAsync(table, new() { ["pk"] = S("k"), ["v"] = N("1") });
        }

        await host.KillAsync();
        await host.RestartAsync();
        var described = await Dax.CallAsync(host, "DescribeClusters", new { ClusterNames = new[] { cluster } });
        var c = described.GetProperty("Clusters")[0];
        Assert.Equal("available", c.GetProperty("Status").GetString());
        Assert.Equal(group, c.GetProperty("ParameterGroup").GetProperty("ParameterGroupName").GetString());
        var parameters = await Dax.CallAsync(host, "DescribeParameters", new { ParameterGroupName = group });
        Assert.Contains(parameters.GetProperty("Parameters").EnumerateArray(),
            p => p.GetProperty("ParameterName").GetString() == "query-ttl-millis" && p.GetProperty("ParameterValue").GetString() == "1234");
        using var cached = Dax.ClientFor(host, url);
        Assert.Equal("1", (await cached.GetItemAsync(table, Key("k"))).Item["v"].N);
        Assert.Equal("1", (await cached.GetItemAsync(table, Key("k"))).Item["v"].N);
        Assert.Equal(1, (await Dax.MetricsAsync(host, cluster)).Hits);
    }
}
