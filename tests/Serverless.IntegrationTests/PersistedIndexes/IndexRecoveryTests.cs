using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

using static Serverless.IntegrationTests.PersistedIndexes.IndexScenario;

namespace Serverless.IntegrationTests.PersistedIndexes;

/// <summary>
/// The ordered indexes (table keys, GSI, LSI, TTL) are checkpointed and maintained by replay: after a SIGKILL at any
/// point, including between writing index runs and writing the manifest, Query, Scan, the indexes and TTL answer
/// exactly as before the crash, for every acknowledged write.
/// </summary>
public sealed class IndexRecoveryTests
{
    private static HostProcessOptions Options(string killFile) => new()
    {
        Environment = new Dictionary<string, string>
        {
            ["SERVERLESS_TEST_KILL_BEFORE_MANIFEST"] = killFile,
            ["Engine__CheckpointLogBytes"] = (1L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture), // checkpoints only when asked
            ["TtlSweepSchedule"] = "0 0 0 1 1 *", // the test runs the sweep itself
        },
    };

    [Fact]
    public async Task SigkillBetweenRunsAndManifest_ThenRestart_IndexesAndTtlAnswerAsBefore()
    {
        var killFile = Path.Combine(Path.GetTempPath(), "kill-before-manifest-" + Guid.NewGuid().ToString("N"));
        await using var host = await HostProcess.StartAsync(Options(killFile));
        var model = new Model();
        var random = new Random(1301);
        await CreateAsync(host);
        using (var client = host.CreateClient())
        {
            await WriteRoundAsync(client, model, random, 500);
            await CheckpointAsync(host); // runs and manifest written
            await WriteRoundAsync(client, model, random, 400); // tombstones and moved entries over those runs
            await CheckpointAsync(host); // a second run of each index, maybe merged
            await WriteRoundAsync(client, model, random, 300);
            await VerifyAsync(client, model);
        }

        // The next checkpoint writes its runs and dies before the manifest: the old manifest and the log must do.
        await CheckpointDiesBeforeManifestAsync(host, killFile);

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
        await CreateAsync(host);
        var random = new Random(seed);
        var model = new Model();
        for (var round = 0; round < 3; round++)
        {
            var inDoubt = await KillDuringWritesAndCheckpointsAsync(host, model, seed * 100 + round * 10, 1500 + random.Next(2500));
            await host.RestartAsync();

            using var client = host.CreateClient();
            await ResolveInDoubtAsync(client, model, inDoubt);
            await VerifyAsync(client, model);
            Assert.Equal(model.Items.Count, (await client.DescribeTableAsync(Table)).Table.ItemCount);
        }
    }
}
