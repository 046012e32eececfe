using System.Collections.Concurrent;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Serverless.IntegrationTests.Infrastructure;
using Serverless.IntegrationTests.Kinesis;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.BlobDurability;

/// <summary>
/// Pipelined group commit into append blobs (a real Azurite): many writers, several appends in flight, segments
/// rolled before their blob's block limit; after a SIGKILL and the loss of the disk a fresh instance has every
/// acknowledged write and record, in order.
/// </summary>
public sealed class GroupCommitTests
{
    /// <summary>Concurrent writers put distinct keys until <paramref name="until"/> are acknowledged or 120 s pass.</summary>
    private static Task WriteAsync(AmazonDynamoDBClient client, string table, int writers, int until, string pad, ConcurrentBag<string> acknowledged)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        return Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; acknowledged.Count < until && DateTime.UtcNow < deadline; i++)
            {
                var key = $"w{w}-{i}";
                await client.PutItemAsync(table, new() { ["pk"] = S(key), ["pad"] = S(pad) });
                acknowledged.Add(key);
            }
        })));
    }

    private static Dictionary<string, string> Storage(AzuriteProcess azurite) => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["Engine__Blob__LeaseSeconds"] = "15",
        ["Engine__Blob__Standby"] = "true",
        ["Engine__Blob__AppendsInFlight"] = "8",
        ["Engine__Blob__LogBlobBlocks"] = "100", // a new change-log segment every 100 appends
    };

    [Fact]
    public async Task ManyWriters_SeveralAppendsInFlight_FreshInstanceHasEveryAcknowledgedWrite_AcrossRolledSegments()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var first = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite) });
        var acknowledged = new ConcurrentBag<string>();
        string table;
        using (var client = first.CreateClient())
        {
            table = await CreateAsync(client, "group");
            // Enough writes for several segments (each append takes whatever the 32 writers committed meanwhile).
            await WriteAsync(client, table, writers: 32, until: 1500, pad: new string('x', 200), acknowledged);
        }

        Assert.True(acknowledged.Count >= 1500, $"only {acknowledged.Count} writes in 120 s\n{first.Output}");

        // The log went to several blobs, none past the block budget (plus the appends already in flight at the roll).
        var container = new BlobContainerClient(azurite.ConnectionString, "ddb-store", new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05));
        var logs = new List<BlobItem>();
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = "log/" })) logs.Add(item);
        Assert.True(logs.Count >= 2, $"expected the change log in several segments, found {logs.Count}");
        foreach (var log in logs)
        {
            var blocks = (await container.GetBlobClient(log.Name).GetPropertiesAsync()).Value.BlobCommittedBlockCount;
            Assert.InRange(blocks, 1, 100 + 8 + 1);
        }

        await first.KillAsync();
        Directory.Delete(first.DataDirectory, recursive: true);
        await first.DisposeAsync();
        await using var second = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite), StartTimeout = TimeSpan.FromSeconds(120) });
        using var after = second.CreateClient();
        var missing = new List<string>();
        foreach (var chunk in acknowledged.Chunk(100))
        {
            var got = await after.BatchGetItemAsync(new BatchGetItemRequest
            {
                RequestItems = new() { [table] = new KeysAndAttributes { Keys = [.. chunk.Select(Key)], ConsistentRead = true } },
            });
            var found = got.Responses[table].Select(i => i["pk"].S).ToHashSet();
            missing.AddRange(chunk.Where(k => !found.Contains(k)));
        }

        Assert.Empty(missing);

        // And the recovered instance ships on from where the old one stopped.
        await after.PutItemAsync(table, new() { ["pk"] = S("after") });
        Assert.True((await after.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("after"), ConsistentRead = true })).IsItemSet);
    }

    [Fact]
    public async Task KinesisConcurrentPuts_OneShard_AreAcknowledgedInOrder_AndSurviveSigkillAndLostDisk()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var storage = Storage(azurite);
        storage["Kinesis__SegmentBytes"] = "65536";
        string[] acknowledged;
        await using (var first = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage }))
        {
            await KinesisTool.CreateStreamAsync(first, "group-stream", shards: 1, retentionHours: 48);
            var output = await KinesisTool.RunAsync(first, "putpar group-stream 16 25");
            acknowledged = [.. output.Split('\n').Where(l => l.StartsWith("ACK ", StringComparison.Ordinal)).Select(l => l[4..].Trim())];
            Assert.Equal(400, acknowledged.Length);
            Assert.Equal(400, acknowledged.Distinct().Count());
            await first.KillAsync();
        }

        await using var second = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage, StartTimeout = TimeSpan.FromSeconds(120) });
        var records = await KinesisTool.DumpAsync(second, "group-stream");
        var sequences = records.Select(r => r.SequenceNumber).ToList();
        Assert.Equal(acknowledged.Order(), sequences.Order());
        Assert.Equal(sequences.OrderBy(s => System.Numerics.BigInteger.Parse(s)), sequences); // read back in sequence order
        var data = records.Select(r => System.Text.Encoding.UTF8.GetString(r.Data)).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 16).SelectMany(t => Enumerable.Range(0, 25).Select(i => $"t{t}-r{i}")).Order(), data);
        var more = await KinesisTool.RunAsync(second, "put group-stream 3");
        Assert.Equal(3, more.Split('\n').Count(l => l.StartsWith("ACK ", StringComparison.Ordinal)));
    }

    /// <summary>
    /// One append in flight: concurrent writers share appends (fewer appends than writes), no append is
    /// ever refused for its position, the blob's length is read only when shipping starts (or after a failed round),
    /// every byte appended is in the log blobs exactly once, and a fresh instance after a SIGKILL and a lost disk
    /// has every acknowledged write.
    /// </summary>
    [Fact]
    public async Task OneAppendInFlight_WritersShareAppends_NoAppendIsRefused_AndAcknowledgedWritesSurvive()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var storage = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Engine__Blob__LeaseSeconds"] = "15",
            ["Engine__Blob__Standby"] = "true",
            ["Engine__Blob__AppendsInFlight"] = "1",
        };
        var first = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage });
        var acknowledged = new ConcurrentBag<string>();
        string table;
        using (var client = first.CreateClient())
        {
            table = await CreateAsync(client, "single");
            await WriteAsync(client, table, writers: 16, until: 400, pad: new string('y', 100), acknowledged);
        }

        Assert.True(acknowledged.Count >= 400, $"only {acknowledged.Count} writes in 120 s\n{first.Output}");
        using var metrics = JsonDocument.Parse(await (await first.SendAdminAsync(HttpMethod.Get, "/admin/metrics")).Content.ReadAsStringAsync());
        var log = metrics.RootElement.GetProperty("BlobLog");
        long Get(string name) => log.GetProperty(name).GetInt64();
        var detail = log.GetRawText();
        Assert.InRange(Get("Appends"), 1, acknowledged.Count - 1); // shared: 16 writers, fewer appends than writes
        Assert.True(Get("DurableWaits") > 0, detail);
        Assert.Equal(0, Get("RefusedAppends"));
        Assert.Equal(1 + Get("FailedRounds"), Get("LengthReads"));

        // Every byte appended is in the log blobs, once: one segment, never rolled or trimmed at this size. (A failed
        // round's append may land without its reply, uncounted, so then only the blobs' presence is checked.)
        var container = new BlobContainerClient(azurite.ConnectionString, "ddb-store", new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05));
        long inBlobs = 0;
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = "log/" })) inBlobs += item.Properties.ContentLength ?? 0;
        if (Get("FailedRounds") == 0) Assert.Equal(Get("AppendedBytes"), inBlobs);
        else Assert.True(inBlobs > 0);

        await first.KillAsync();
        Directory.Delete(first.DataDirectory, recursive: true);
        await first.DisposeAsync();
        await using var second = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage, StartTimeout = TimeSpan.FromSeconds(120) });
        using var after = second.CreateClient();
        var missing = new List<string>();
        foreach (var chunk in acknowledged.Chunk(100))
        {
            var got = await after.BatchGetItemAsync(new BatchGetItemRequest
            {
                RequestItems = new() { [table] = new KeysAndAttributes { Keys = [.. chunk.Select(Key)], ConsistentRead = true } },
            });
            var found = got.Responses[table].Select(i => i["pk"].S).ToHashSet();
            missing.AddRange(chunk.Where(k => !found.Contains(k)));
        }

        Assert.Empty(missing);
    }
}
