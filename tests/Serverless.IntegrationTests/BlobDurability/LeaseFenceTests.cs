using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.BlobDurability;

/// <summary>
/// Issue 13: an instance that lost the store's lease must write nothing to the container. Owner A's lease is broken
/// (what happens to the lease of an owner frozen past its period), B takes the store over, writes and commits a
/// checkpoint; A, unaware (its renewal has not given up yet), writes and runs a checkpoint of its own. A's checkpoint
/// fails, and the container's manifest, snapshot and log are still B's: a fresh instance holds B's writes and
/// nothing of A's. Before the fix A's checkpoint replaced B's manifest and deleted B's snapshot.
/// </summary>
public sealed class LeaseFenceTests
{
    private const string Container = "fence";

    private static HostProcessOptions Options(AzuriteProcess azurite, string holdBeforeDeletes = "") => new()
    {
        Environment = new Dictionary<string, string>
        {
            ["SERVERLESS_TEST_HOLD_BEFORE_DELETES"] = holdBeforeDeletes,
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Engine__Blob__Container"] = Container,
            ["Engine__Blob__LeaseSeconds"] = "60", // A's renewal keeps believing in its lease for the whole test
            ["Engine__CheckpointLogBytes"] = (1L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture),
        },
        StartTimeout = TimeSpan.FromSeconds(120),
    };

    private static List<string> Names(BlobContainerClient container, string prefix) =>
        [.. container.GetBlobs(BlobTraits.None, BlobStates.None, prefix, CancellationToken.None).Select(b => b.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task AnOwnerThatLostItsLease_CommitsNoCheckpoint_AndDeletesNoneOfTheNewOwnersBlobs()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var container = new BlobContainerClient(azurite.ConnectionString, Container);
        await using var a = await HostProcess.StartAsync(Options(azurite));
        using var clientA = a.CreateClient(c => c.MaxErrorRetry = 0);
        var table = await CreateAsync(clientA, "fence");
        await clientA.PutItemAsync(table, new() { ["pk"] = S("a1") });
        await CheckpointAsync(a);

        await container.GetBlobClient("owner.lease").GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);
        await using var b = await HostProcess.StartAsync(Options(azurite));
        using var clientB = b.CreateClient(c => c.MaxErrorRetry = 0);
        await clientB.PutItemAsync(table, new() { ["pk"] = S("b1") });
        await CheckpointAsync(b);
        var manifest = (await container.GetBlobClient("manifest.json").DownloadContentAsync()).Value.Content.ToArray();
        var snapshots = Names(container, "snapshots/");
        var logs = Names(container, "log/");
        Assert.Single(snapshots);

        // A, still running: its write is not acknowledged (its append finds B's bytes where it expected to append,
        // and the lease check refuses to take them for its own), and its checkpoint fails.
        await Assert.ThrowsAnyAsync<Amazon.DynamoDBv2.AmazonDynamoDBException>(() => clientA.PutItemAsync(table, new() { ["pk"] = S("a2") }));

        using (var response = await a.SendAdminAsync(HttpMethod.Post, "/admin/functions/Checkpoint"))
            Assert.False(response.IsSuccessStatusCode, "the instance that lost its lease committed a checkpoint");

        Assert.Equal(manifest, (await container.GetBlobClient("manifest.json").DownloadContentAsync()).Value.Content.ToArray());
        Assert.Equal(snapshots, Names(container, "snapshots/"));
        Assert.Subset(Names(container, "log/").ToHashSet(), logs.ToHashSet());

        // B's data stays intact: a fresh instance (after B stops) holds B's write.
        await b.StopAsync();
        await a.KillAsync();
        await using var fresh = await HostProcess.StartAsync(Options(azurite));
        using var client = fresh.CreateClient();
        Assert.True((await client.GetItemAsync(table, Key("a1"))).IsItemSet);
        Assert.True((await client.GetItemAsync(table, Key("b1"))).IsItemSet);
    }

    /// <summary>
    /// The window after the manifest: owner A commits its manifest and is frozen before its deletes (the hold hook);
    /// meanwhile its lease is broken, B takes over and commits a checkpoint of its own. When A resumes, it deletes
    /// none of B's snapshots and index files. Before the fix A's deletes (every snapshot but its own) removed B's
    /// snapshot, so B's manifest named a blob that no longer existed.
    /// </summary>
    [Fact]
    public async Task AnOwnerFrozenBetweenItsManifestAndItsDeletes_DeletesNoneOfTheNewOwnersBlobs()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var container = new BlobContainerClient(azurite.ConnectionString, Container);
        var hold = Path.Combine(Path.GetTempPath(), "fence-hold-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var a = await HostProcess.StartAsync(Options(azurite, hold));
            using var clientA = a.CreateClient(c => c.MaxErrorRetry = 0);
            var table = await CreateAsync(clientA, "fence");
            await clientA.PutItemAsync(table, new() { ["pk"] = S("a1") });
            await CheckpointAsync(a);
            await clientA.PutItemAsync(table, new() { ["pk"] = S("a2") });

            var manifestBlob = container.GetBlobClient("manifest.json");
            var before = (await manifestBlob.GetPropertiesAsync()).Value.ETag;
            await File.WriteAllBytesAsync(hold, []);
            var checkpointA = a.SendAdminAsync(HttpMethod.Post, "/admin/functions/Checkpoint");
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await manifestBlob.GetPropertiesAsync()).Value.ETag == before)
            {
                Assert.True(DateTime.UtcNow < deadline, "A's checkpoint never wrote its manifest");
                await Task.Delay(50);
            }

            // A is now held after its manifest, before its deletes. B takes the store over and checkpoints.
            await container.GetBlobClient("owner.lease").GetBlobLeaseClient().BreakAsync(TimeSpan.Zero);
            await using var b = await HostProcess.StartAsync(Options(azurite));
            using var clientB = b.CreateClient(c => c.MaxErrorRetry = 0);
            await clientB.PutItemAsync(table, new() { ["pk"] = S("b1") });
            await CheckpointAsync(b);
            var snapshots = Names(container, "snapshots/");
            var indexes = Names(container, "index/");
            Assert.Single(snapshots);

            File.Delete(hold);
            using (await checkpointA)
            {
                // A's checkpoint answers as it may: what counts is what it left in the container.
            }

            Assert.Subset(Names(container, "snapshots/").ToHashSet(), snapshots.ToHashSet());
            Assert.Subset(Names(container, "index/").ToHashSet(), indexes.ToHashSet());

            await b.StopAsync();
            await a.KillAsync();
            await using var fresh = await HostProcess.StartAsync(Options(azurite));
            using var client = fresh.CreateClient();
            foreach (var pk in new[] { "a1", "a2", "b1" }) Assert.True((await client.GetItemAsync(table, Key(pk))).IsItemSet, pk);
        }
        finally
        {
            File.Delete(hold);
        }
    }

    private static async Task CheckpointAsync(HostProcess host)
    {
        using var response = await host.SendAdminAsync(HttpMethod.Post, "/admin/functions/Checkpoint");
        response.EnsureSuccessStatusCode();
    }
}
