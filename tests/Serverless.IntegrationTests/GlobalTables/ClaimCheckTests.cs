using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Azure.Storage.Blobs;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.GlobalTables;

/// <summary>
/// Items larger than an Azure Storage queue message (64 KiB; DynamoDB items reach 400 KB) replicate through the claim
/// check: the message goes as a blob in the destination queue's storage account, a small pointer through the queue,
/// and the receiver deletes the blob once it has applied it. On both forms that use Azure Storage queues: one host
/// per region (each with its own Azurite) and one host serving every region with AzureWebJobsStorage.
/// </summary>
public sealed class ClaimCheckTests
{
    private const string Table = "large";
    private const string Container = "ddb-replication-payloads";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task OneHostPerRegion_A350KBItem_ReplicatesThroughAPayloadBlobInTheTargetsAccount_InTheCopyAndAfter()
    {
        await using var eastStorage = await AzuriteProcess.StartAsync();
        await using var westStorage = await AzuriteProcess.StartAsync();
        await using var east = await HostProcess.StartAsync(TwoHostTests.Options(eastStorage, "us-east-1", "eu-west-1", westStorage));
        await using var west = await HostProcess.StartAsync(TwoHostTests.Options(westStorage, "eu-west-1", "us-east-1", eastStorage));
        try
        {
            await LargeItemsReplicateAsync(east, west, eastStorage, westStorage);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n--- us-east-1\n{east.Output}\n--- eu-west-1\n{west.Output}", e);
        }
    }

    [Fact]
    public async Task Regions_WithAzureWebJobsStorage_A350KBItemReplicates_AndAnOrphanPayloadGoesAfterTheLogRetention()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var host = await GlobalTableTests.StartAsync("us-east-1,eu-west-1", new()
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["LocalHost__ClockControl"] = "true",
        });
        try
        {
            await LargeItemsReplicateAsync(host, host, azurite, azurite);
            await OrphansAreSweptAsync(host, azurite);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n{host.Output}", e);
        }
    }

    [Fact]
    public async Task Regions_OnInProcessQueues_A350KBItemGoesInline()
    {
        await using var host = await GlobalTableTests.StartAsync("us-east-1,eu-west-1");
        using var east = host.CreateClient();
        using var west = host.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        await east.CreateTableAsync(RegionsTests.Schema(Table));
        await east.UpdateTableAsync(GlobalTableTests.AddReplica(Table, "eu-west-1"));
        await GlobalTableTests.EventuallyAsync(async () => (await east.DescribeTableAsync(Table)).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }], Patience);
        var item = Large("inline", seed: 5);
        var text = Describe(item);
        await east.PutItemAsync(Table, item);
        await GlobalTableTests.EventuallyAsync(async () => await ReadAsync(west, "inline") == text, Patience);
        Assert.Equal(0, await PayloadsAsync(host, "Sent"));
        Assert.Equal(0, await PayloadsAsync(host, "Sweeps")); // no storage account: nothing to sweep
    }

    /// <summary>
    /// A 350 KB item in the table before the replica exists (the copy), then a put, an update and a delete in
    /// us-east-1, and a put in eu-west-1: each read back identical on the other side, and no payload blob left.
    /// Small writes in bulk still go inline; a transaction too large for one message goes as one blob.
    /// </summary>
    private static async Task LargeItemsReplicateAsync(HostProcess east, HostProcess west, AzuriteProcess eastStorage, AzuriteProcess westStorage)
    {
        using var eastClient = east.CreateClient();
        using var westClient = west.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        await eastClient.CreateTableAsync(RegionsTests.Schema(Table));
        var early = Large("early", seed: 1);
        var earlyText = Describe(early);
        await eastClient.PutItemAsync(Table, early);
        await eastClient.PutItemAsync(Table, GlobalTableTests.Item("small", "1"));
        await eastClient.UpdateTableAsync(GlobalTableTests.AddReplica(Table, "eu-west-1"));
        await GlobalTableTests.EventuallyAsync(async () => (await eastClient.DescribeTableAsync(Table)).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }], Patience);
        Assert.Equal(earlyText, await ReadAsync(westClient, "early"));
        Assert.NotNull(await ReadAsync(westClient, "small"));

        // Many small writes at once still go inline, cut into messages of at most 46 KiB: no blob for them.
        var sentBefore = await PayloadsAsync(east, "Sent");
        for (var batch = 0; batch < 6; batch++)
        {
            var requests = new Dictionary<string, List<WriteRequest>>
            {
                [Table] = [.. Enumerable.Range(0, 25).Select(i => new WriteRequest(new PutRequest(GlobalTableTests.Item($"many-{batch}-{i}", new string('m', 1500)))))],
            };
            // Whatever comes back unprocessed is sent again, as AWS asks of its clients.
            while (requests is { Count: > 0 }) requests = (await eastClient.BatchWriteItemAsync(requests)).UnprocessedItems;
        }

        await GlobalTableTests.EventuallyAsync(async () => (await westClient.ScanAsync(new ScanRequest(Table) { ConsistentRead = true, Select = Select.COUNT })).Count == 2 + 150, Patience);
        Assert.Equal(sentBefore, await PayloadsAsync(east, "Sent"));

        // A transaction's items share one sequence number and are never split: 80 KB of them make one blob.
        await eastClient.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems = [.. Enumerable.Range(0, 4).Select(i => new TransactWriteItem { Put = new Put { TableName = Table, Item = GlobalTableTests.Item($"tx-{i}", Text(20_000, seed: 10 + i)) } })],
        });
        await GlobalTableTests.EventuallyAsync(async () => await ReadAsync(westClient, "tx-3") != null && await ReadAsync(westClient, "tx-0") != null, Patience);
        Assert.Equal(sentBefore + 1, await PayloadsAsync(east, "Sent"));

        var late = Large("late", seed: 2);
        var lateText = Describe(late);
        await eastClient.PutItemAsync(Table, late);
        await GlobalTableTests.EventuallyAsync(async () => await ReadAsync(westClient, "late") == lateText, Patience);

        // An update that keeps it large, then a delete (whose message is small and goes inline).
        var replaced = Text(150_000, seed: 3);
        await eastClient.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = Table, Key = GlobalTableTests.Key("late"), UpdateExpression = "SET txt = :t",
            ExpressionAttributeValues = new() { [":t"] = new AttributeValue { S = replaced } },
        });
        late["txt"] = new AttributeValue { S = replaced };
        var updatedText = Describe(late);
        Assert.NotEqual(lateText, updatedText);
        await GlobalTableTests.EventuallyAsync(async () => await ReadAsync(westClient, "late") == updatedText, Patience);
        await eastClient.DeleteItemAsync(Table, GlobalTableTests.Key("early"));
        await GlobalTableTests.EventuallyAsync(async () => await ReadAsync(westClient, "early") == null, Patience);

        // And the other way.
        var fromWest = Large("from-west", seed: 4);
        var fromWestText = Describe(fromWest);
        await westClient.PutItemAsync(Table, fromWest);
        await GlobalTableTests.EventuallyAsync(async () => await ReadAsync(eastClient, "from-west") == fromWestText, Patience);

        // They went by blob (the copy, the transaction, the put and the update to eu-west-1; the put to us-east-1),
        // each in the receiving region's storage account, and each blob was deleted once applied.
        var westPayloads = new BlobContainerClient(westStorage.ConnectionString, Container);
        var eastPayloads = new BlobContainerClient(eastStorage.ConnectionString, Container);
        Assert.True(await westPayloads.ExistsAsync());
        await GlobalTableTests.EventuallyAsync(async () => await PayloadsAsync(west, "Applied") >= (ReferenceEquals(east, west) ? 5 : 4), Patience);
        await GlobalTableTests.EventuallyAsync(async () => await PayloadsAsync(east, "Applied") >= (ReferenceEquals(east, west) ? 5 : 1), Patience);
        Assert.True(await PayloadsAsync(east, "Sent") >= 4);
        await GlobalTableTests.EventuallyAsync(async () => (await NamesAsync(westPayloads, "eu-west-1/")).Count == 0, Patience);
        await GlobalTableTests.EventuallyAsync(async () => (await NamesAsync(eastPayloads, "us-east-1/")).Count == 0, Patience);
        if (!ReferenceEquals(eastStorage, westStorage)) Assert.Empty(await NamesAsync(eastPayloads, "eu-west-1/"));
        Assert.Equal(0, await PayloadsAsync(west, "Missing"));
    }

    /// <summary>
    /// A payload blob no pointer names (its sender stopped between the upload and the enqueue) stays while it is
    /// younger than the change log's 24 hours and is deleted by the hourly sweep after; another region's stay.
    /// </summary>
    private static async Task OrphansAreSweptAsync(HostProcess host, AzuriteProcess azurite)
    {
        var container = new BlobContainerClient(azurite.ConnectionString, Container);
        var orphans = new[] { $"eu-west-1/{Table}/us-east-1/7-{Guid.NewGuid():N}", $"us-east-1/{Table}/eu-west-1/9-{Guid.NewGuid():N}" };
        var elsewhere = $"ap-south-1/{Table}/us-east-1/3-{Guid.NewGuid():N}";
        foreach (var name in orphans.Append(elsewhere)) await container.UploadBlobAsync(name, BinaryData.FromString("{}"));

        var sweeps = await PayloadsAsync(host, "Sweeps");
        Assert.True(sweeps >= 1, "the first shipping run sweeps");
        await host.AdvanceClockAsync(TimeSpan.FromHours(2));
        await GlobalTableTests.EventuallyAsync(async () => await PayloadsAsync(host, "Sweeps") > sweeps, Patience);
        Assert.Equal(3, (await NamesAsync(container, "")).Count); // two hours old: kept

        await host.AdvanceClockAsync(TimeSpan.FromHours(23));
        await GlobalTableTests.EventuallyAsync(async () => (await NamesAsync(container, "")).Count == 1, Patience);
        Assert.Equal(elsewhere, Assert.Single(await NamesAsync(container, "")));
        Assert.Equal(2, await PayloadsAsync(host, "Swept"));
    }

    /// <summary>About 350 KB: a 150,000-character string, 200,000 bytes of binary and a number.</summary>
    private static Dictionary<string, AttributeValue> Large(string pk, int seed)
    {
        var bytes = new byte[200_000];
        new Random(seed).NextBytes(bytes);
        return new Dictionary<string, AttributeValue>
        {
            ["pk"] = new() { S = pk },
            ["txt"] = new() { S = Text(150_000, seed) },
            ["bin"] = new() { B = new MemoryStream(bytes) },
            ["n"] = new() { N = $"{seed}.25" },
        };
    }

    private static string Text(int length, int seed)
    {
        var random = new Random(seed * 7919);
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++) text.Append((char)('a' + random.Next(26)));
        return text.ToString();
    }

    /// <summary>The item's attributes in a canonical text form, for comparing what was written with what was read.</summary>
    private static string Describe(Dictionary<string, AttributeValue> item) =>
        string.Join("\n", item.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + (a.Value switch
        {
            { S: { } s } => "S:" + s,
            { N: { } n } => "N:" + n,
            { B: { } b } => "B:" + Convert.ToBase64String(b.ToArray()),
            _ => throw new InvalidOperationException($"unexpected type of {a.Key}"),
        })));

    private static async Task<string?> ReadAsync(AmazonDynamoDBClient client, string pk)
    {
        var response = await client.GetItemAsync(new GetItemRequest(Table, GlobalTableTests.Key(pk)) { ConsistentRead = true });
        return response.IsItemSet ? Describe(response.Item) : null;
    }

    /// <summary>A counter of the host's <c>ReplicationPayloads</c> in <c>GET /admin/metrics</c>.</summary>
    private static async Task<long> PayloadsAsync(HostProcess host, string counter)
    {
        using var response = await host.SendAdminAsync(HttpMethod.Get, "/admin/metrics");
        using var metrics = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return metrics.RootElement.GetProperty("ReplicationPayloads").GetProperty(counter).GetInt64();
    }

    private static async Task<List<string>> NamesAsync(BlobContainerClient container, string prefix)
    {
        var names = new List<string>();
        if (!await container.ExistsAsync()) return names;
        await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix })) names.Add(blob.Name);
        return names;
    }
}
