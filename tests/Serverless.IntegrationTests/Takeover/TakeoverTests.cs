using System.Collections.Concurrent;
using System.Diagnostics;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Takeover;

/// <summary>
/// A replacement for a crashed blob-mode instance takes the store over by itself, with no flag: it finds the dead
/// owner's lease held, waits for it to run out (at most one lease period) and starts, with every acknowledged write.
/// </summary>
public sealed class TakeoverTests
{
    private const int LeaseSeconds = 15;

    /// <summary>Blob storage in Azurite and a short lease; deliberately no Engine__Blob__Standby.</summary>
    private static Dictionary<string, string> Storage(AzuriteProcess azurite) => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["Engine__Blob__Container"] = "takeover",
        ["Engine__Blob__LeaseSeconds"] = LeaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Engine__CheckpointLogBytes"] = "262144", // snapshots are uploaded during the load, so recovery is snapshot + log
    };

    [Fact]
    public async Task Sigkill_UnderWriteLoad_ReplacementWithoutFlags_WaitsOutTheLease_TakesOver_AndHasEveryAcknowledgedWrite()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var first = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite) });
        var acknowledged = new ConcurrentBag<string>();
        string table;
        using (var client = first.CreateClient(c => c.MaxErrorRetry = 0))
        {
            table = await CreateAsync(client, "takeover");
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        await client.PutItemAsync(table, new() { ["pk"] = S($"w{w}-{i}"), ["pad"] = S(new string('t', 200)) });
                        acknowledged.Add($"w{w}-{i}");
                    }
                    catch (Exception e) when (e is AmazonDynamoDBException or HttpRequestException or TaskCanceledException or IOException)
                    {
                        // The kill: writes in flight are not acknowledged, and need not survive.
                        await Task.Delay(10);
                    }
                }
            })).ToList();

            // Kill while the writers are running, once enough has been acknowledged to span several snapshot uploads.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (acknowledged.Count < 2000 && DateTime.UtcNow < deadline) await Task.Delay(50);
            await first.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        Assert.True(acknowledged.Count >= 200, $"too few writes acknowledged before the kill: {acknowledged.Count}\n{first.Output}");
        await first.DisposeAsync(); // its disk goes too: the replacement has blob storage only

        // The replacement: same container, its own empty data directory, no Standby. It must wait and take over.
        var started = Stopwatch.StartNew();
        await using var second = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = Storage(azurite),
            StartTimeout = TimeSpan.FromSeconds(LeaseSeconds + 90),
        });
        started.Stop();
        Assert.Contains($"waiting up to {LeaseSeconds} s for it to expire", second.Output, StringComparison.Ordinal);
        Assert.Contains("Took over the store in blob container 'takeover'", second.Output, StringComparison.Ordinal);

        using var after = second.CreateClient();
        var missing = new List<string>();
        foreach (var chunk in acknowledged.Chunk(100))
        {
            var got = await after.BatchGetItemAsync(new BatchGetItemRequest
            {
                RequestItems = new() { [table] = new KeysAndAttributes { Keys = [.. chunk.Select(Key)], ConsistentRead = true } },
            });
            Assert.Empty(got.UnprocessedKeys);
            var found = got.Responses[table].Select(i => i["pk"].S).ToHashSet();
            missing.AddRange(chunk.Where(k => !found.Contains(k)));
        }

        Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged writes are missing after the takeover, e.g. {string.Join(", ", missing.Take(5))}\n{second.Output}");

        // It owns the store now: it acknowledges new writes.
        await after.PutItemAsync(table, new() { ["pk"] = S("after-takeover") });
        Assert.Equal("after-takeover", (await after.GetItemAsync(table, Key("after-takeover"), consistentRead: true)).Item["pk"].S);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(LeaseSeconds + 90), $"the takeover took {started.Elapsed}");
    }

    [Fact]
    public async Task SecondInstance_WhileTheOwnerIsAlive_WaitsOneLeasePeriod_ThenRefusesWithAClearMessage()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var owner = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite) });
        var started = Stopwatch.StartNew();
        var refused = await HostProcess.RunToExitAsync(
            ["--port", "0", "--data-dir", Path.Combine(Path.GetTempPath(), "takeover-second-" + Guid.NewGuid().ToString("N"))],
            timeout: TimeSpan.FromSeconds(LeaseSeconds + 90),
            environment: Storage(azurite));
        var output = refused.StandardError + refused.StandardOutput;
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains($"waiting up to {LeaseSeconds} s for it to expire", output, StringComparison.Ordinal);
        Assert.Contains("owned by another instance: its lease was still held after 15 s", output, StringComparison.Ordinal);
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(LeaseSeconds), $"refused after {started.Elapsed}, before a whole lease period\n{output}");

        // The owner was never disturbed.
        using var client = owner.CreateClient();
        var table = await CreateAsync(client, "owner");
        await client.PutItemAsync(table, new() { ["pk"] = S("still-mine") });
    }
}
