using Amazon.DynamoDBv2.Model;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.PersistedIndexes.IndexScenario;

namespace Serverless.IntegrationTests.BlobIndexes;

/// <summary>
/// With blob storage the checkpoint uploads the ordered indexes' runs, and a fresh instance (an empty data directory,
/// a real Azurite) opens them from the container's manifest instead of rebuilding them with a pass over the items:
/// after a SIGKILL at any point, mid-checkpoint included, Query, Scan, both indexes and the item count answer as
/// before the crash, for every acknowledged write. The container holds only the layout's names, and only the index
/// files the manifest names once a checkpoint has committed.
/// </summary>
public sealed partial class BlobIndexRecoveryTests
{
    private const string Container = "blobidx";

    private static HostProcessOptions Options(AzuriteProcess azurite, string killFile, string holdFile = "") => new()
    {
        Environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Engine__Blob__Container"] = Container,
            ["Engine__Blob__LeaseSeconds"] = "15", // a replacement waits out the killed owner's lease (at most 15 s)
            ["SERVERLESS_TEST_KILL_BEFORE_MANIFEST"] = killFile,
            ["SERVERLESS_TEST_HOLD_APPENDS"] = holdFile,
            ["Engine__CheckpointLogBytes"] = (1L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), // checkpoints only when asked
            ["TtlSweepSchedule"] = "0 0 0 1 1 *",
        },
        StartTimeout = TimeSpan.FromSeconds(120),
    };

    /// <summary>Every name the container may hold (docs/architecture.md, "Blob storage, as built").</summary>
    [GeneratedRegex(@"^(owner\.lease|store\.key|master\.key|manifest\.json|log/\d{20}\.log|snapshots/\d{20}\.snap|index/[0-9a-f]{32}\.(run|col)|backups/.+)$")]
    private static partial Regex LayoutName();

    private static List<string> Names(AzuriteProcess azurite, string prefix = "") =>
        [.. new BlobContainerClient(azurite.ConnectionString, Container).GetBlobs(new GetBlobsOptions { Prefix = prefix }).Select(b => b.Name)];

    private static void AssertOpenedIndexesFromBlob(HostProcess host) =>
        Assert.True(host.Output.Contains("indexes opened from the checkpoint", StringComparison.Ordinal), $"the fresh instance rebuilt its indexes\n{host.Output}");

    /// <summary>The index files a fresh instance kept: exactly those its manifest names (the rest were retired at start).</summary>
    private static HashSet<string> LocalIndexFiles(HostProcess host) =>
        [.. Directory.EnumerateFiles(Path.Combine(host.DataDirectory, "blob-cache", Container, "index")).Select(Path.GetFileName).OfType<string>()];

    [Theory]
    [InlineData(13)]
    [InlineData(41)]
    public async Task FreshInstance_AfterSigkillAtRandomMoments_WhileCheckpointsRun_OpensTheIndexesFromBlob_AndLosesNoAcknowledgedEntry(int seed)
    {
        var killFile = Path.Combine(Path.GetTempPath(), "never-" + Guid.NewGuid().ToString("N"));
        await using var azurite = await AzuriteProcess.StartAsync();
        var host = await HostProcess.StartAsync(Options(azurite, killFile));
        try
        {
            var random = new Random(seed);
            var model = new Model();
            await CreateAsync(host);
            using (var setup = host.CreateClient())
            {
                await WriteRoundAsync(setup, model, random, 300);
                await CheckpointAsync(host); // a manifest with indexes, whatever the kills below interrupt
                await WriteRoundAsync(setup, model, random, 200);
            }

            for (var round = 0; round < 2; round++)
            {
                var inDoubt = await KillDuringWritesAndCheckpointsAsync(host, model, seed * 100 + round * 10, 1500 + random.Next(3000));
                await host.DisposeAsync(); // its disk goes too

                // The replacement: same container, an empty data directory of its own.
                host = await HostProcess.StartAsync(Options(azurite, killFile));
                AssertOpenedIndexesFromBlob(host);
                using var client = host.CreateClient();
                await ResolveInDoubtAsync(client, model, inDoubt);
                await VerifyAsync(client, model);
                Assert.Equal(model.Items.Count, (await client.DescribeTableAsync(Table)).Table.ItemCount);
            }

            Assert.All(Names(azurite), n => Assert.Matches(LayoutName(), n));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    /// <summary>
    /// A checkpoint copies the items while writes go on, so its copy may hold a change whose record is not yet in the
    /// log blobs. Here appends are held back (the <c>SERVERLESS_TEST_HOLD_APPENDS</c> hook): an update of an
    /// acknowledged item is applied and logged locally, never shipped, never acknowledged; a checkpoint is asked for
    /// and the host is killed. The fresh instance must hold what the container's committed checkpoint and log hold:
    /// the acknowledged value, with every index agreeing. Before the fix the checkpoint committed a snapshot holding
    /// the unshipped value (or, had the update moved the record past the checkpoint's scan, not holding the key at all:
    /// the random-kill test's "acknowledged entry missing"), so the fresh instance served a value no log record has.
    /// </summary>
    [Fact]
    public async Task CheckpointWhileAnUpdateIsNotShipped_FreshInstanceHoldsTheAcknowledgedValue()
    {
        var killFile = Path.Combine(Path.GetTempPath(), "never-" + Guid.NewGuid().ToString("N"));
        var holdFile = Path.Combine(Path.GetTempPath(), "hold-appends-" + Guid.NewGuid().ToString("N"));
        await using var azurite = await AzuriteProcess.StartAsync();
        var model = new Model();
        var random = new Random(2113);
        const string pk = "p3";
        const int sk = 1000; // outside the random rounds' keys
        await using (var first = await HostProcess.StartAsync(Options(azurite, killFile, holdFile)))
        {
            await CreateAsync(first);
            using var client = first.CreateClient();
            await WriteRoundAsync(client, model, random, 200);
            await client.PutItemAsync(Table, Model.Item(pk, sk, "g1", 5, false));
            model.Items[(pk, sk)] = ("g1", 5, false);
            await CheckpointAsync(first);
            await WriteRoundAsync(client, model, random, 50); // acknowledged, in the log blobs after the checkpoint

            File.WriteAllText(holdFile, "");
            try
            {
                // A longer value: FASTER cannot update the record in place and appends the new version at its tail.
                using var unacknowledged = first.CreateClient(c => (c.MaxErrorRetry, c.Timeout) = (0, TimeSpan.FromSeconds(120)));
                var put = unacknowledged.PutItemAsync(Table, Model.Item(pk, sk, "g6", 123456789, false));
                var key = new Dictionary<string, AttributeValue> { ["pk"] = new() { S = pk }, ["sk"] = new() { N = sk.ToString() } };
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while ((await client.GetItemAsync(Table, key)).Item["g"].S != "g6")
                {
                    Assert.True(DateTime.UtcNow < deadline, "the held update was never applied");
                    await Task.Delay(20);
                }

                Assert.False(put.IsCompleted, "the update was acknowledged although no append was made");
                using var http = first.CreateHttpClient();
                var checkpoint = http.PostAsync(first.ServiceUrl + "/admin/functions/Checkpoint", null);
                await Task.WhenAny(checkpoint, Task.Delay(TimeSpan.FromSeconds(10))); // done in well under a second unless it waits for the update's record
                await first.KillAsync();
                await Task.WhenAll(put, checkpoint).ContinueWith(_ => { }); // both fail with the process
            }
            finally
            {
                File.Delete(holdFile);
            }
        }

        await using var fresh = await HostProcess.StartAsync(Options(azurite, killFile));
        AssertOpenedIndexesFromBlob(fresh);
        using var after = fresh.CreateClient();
        var got = await after.GetItemAsync(Table, new Dictionary<string, AttributeValue> { ["pk"] = new() { S = pk }, ["sk"] = new() { N = sk.ToString() } });
        Assert.True(got.IsItemSet, "the acknowledged item is missing");
        Assert.Equal(("g1", "5"), (got.Item["g"].S, got.Item["l"].N));
        await VerifyAsync(after, model);
        Assert.Equal(model.Items.Count, (await after.DescribeTableAsync(Table)).Table.ItemCount);
    }

    [Fact]
    public async Task SigkillAfterUploadsBeforeTheManifest_FreshInstanceUsesThePreviousManifest_AndTheNextCheckpointDeletesTheOrphans()
    {
        var killFile = Path.Combine(Path.GetTempPath(), "kill-before-manifest-" + Guid.NewGuid().ToString("N"));
        await using var azurite = await AzuriteProcess.StartAsync();
        var model = new Model();
        var random = new Random(1307);
        HashSet<string> committed;
        await using (var first = await HostProcess.StartAsync(Options(azurite, killFile)))
        {
            await CreateAsync(first);
            using (var client = first.CreateClient())
            {
                await WriteRoundAsync(client, model, random, 400);
                await CheckpointAsync(first);
                await WriteRoundAsync(client, model, random, 300); // tombstones and moved entries over those runs
                await CheckpointAsync(first); // a second run of each index, maybe merged; the first's runs may be retired
                await WriteRoundAsync(client, model, random, 200);
            }

            committed = [.. Names(azurite, "index/")];
            Assert.NotEmpty(committed);

            // The next checkpoint uploads its snapshot and new runs, and dies before the manifest that names them.
            await CheckpointDiesBeforeManifestAsync(first, killFile);
        }

        var orphans = Names(azurite, "index/").Where(n => !committed.Contains(n)).ToList();
        Assert.NotEmpty(orphans); // the dead checkpoint's uploads
        Assert.True(Names(azurite, "snapshots/").Count >= 2, "the dead checkpoint's snapshot was not uploaded");

        await using var fresh = await HostProcess.StartAsync(Options(azurite, killFile));
        AssertOpenedIndexesFromBlob(fresh);
        Assert.Equal(committed.Select(n => n["index/".Length..]).ToHashSet(), LocalIndexFiles(fresh)); // the previous manifest's files
        using (var client = fresh.CreateClient())
        {
            await VerifyAsync(client, model);
            Assert.Equal(model.Items.Count, (await client.DescribeTableAsync(Table)).Table.ItemCount);
            await WriteRoundAsync(client, model, random, 200);
        }

        // Its first checkpoint commits a manifest of its own: the orphans and the older snapshots go, and the
        // container's index files are exactly the ones the new manifest names (the ones the instance keeps locally).
        await CheckpointAsync(fresh);
        Assert.Equal(LocalIndexFiles(fresh), Names(azurite, "index/").Select(n => n["index/".Length..]).ToHashSet());
        Assert.DoesNotContain(orphans, Names(azurite, "index/").Contains);
        Assert.Single(Names(azurite, "snapshots/"));
        Assert.All(Names(azurite), n => Assert.Matches(LayoutName(), n));
        await fresh.KillAsync();

        // And one more fresh instance opens that manifest.
        await using var third = await HostProcess.StartAsync(Options(azurite, killFile));
        AssertOpenedIndexesFromBlob(third);
        using var after = third.CreateClient();
        await VerifyAsync(after, model);
        Assert.Equal(model.Items.Count, (await after.DescribeTableAsync(Table)).Table.ItemCount);
    }
}
