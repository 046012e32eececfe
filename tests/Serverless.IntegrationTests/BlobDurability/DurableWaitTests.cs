using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.BlobDurability;

/// <summary>
/// Issue 13: a writer waits for its record to be in blob storage, so a durable wait that never ends is a write that
/// never answers. Several appends in flight on a real Azurite (most overtaking appends refused with 412), small
/// writes and catalog updates hammered at once, and Azurite frozen in the middle: every request answers (an
/// acknowledgement or an error) well within the bound, and writes work again afterwards.
/// </summary>
public sealed class DurableWaitTests
{
    /// <summary>Longest any request may take: the appender fails a round within 2 s (its network timeout).</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private sealed class Load
    {
        public readonly ConcurrentBag<string> Errors = [];
        public long Acknowledged;
        public long MaxMicros;

        public void Took(long started)
        {
            var micros = (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            long seen;
            while (micros > (seen = Interlocked.Read(ref MaxMicros)) && Interlocked.CompareExchange(ref MaxMicros, micros, seen) != seen)
            {
            }
        }
    }

    /// <summary>Runs <paramref name="call"/> in a loop until <paramref name="stop"/>; a call still unanswered after <see cref="Bound"/> is a hang.</summary>
    private static Task HammerAsync(Load load, Task stop, string what, Func<int, CancellationToken, Task> call) => Task.Run(async () =>
    {
        for (var i = 0; !stop.IsCompleted; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var bound = new CancellationTokenSource(Bound);
            try
            {
                await call(i, bound.Token);
                Interlocked.Increment(ref load.Acknowledged);
            }
            catch (OperationCanceledException) when (bound.IsCancellationRequested)
            {
                load.Errors.Add($"HANG: {what} {i} had no answer within {Bound.TotalSeconds} s");
            }
            catch (AmazonDynamoDBException e)
            {
                load.Errors.Add(e.ErrorCode + ": " + e.Message);
            }

            load.Took(started);
        }
    });

    private static async Task<Load> HammerAsync(HostProcess host, string table, TimeSpan duration, Func<Task>? during = null)
    {
        // No SDK retry and a long SDK timeout: the bound above, not the client, decides what a hang is.
        using var client = host.CreateClient(c =>
        {
            c.MaxErrorRetry = 0;
            c.Timeout = Bound + TimeSpan.FromSeconds(10);
        });
        var load = new Load();
        var stop = new TaskCompletionSource();
        var pad = new string('p', 100);
        var writers = Enumerable.Range(0, 16).Select(w => HammerAsync(load, stop.Task, $"PutItem w{w}", (i, ct) =>
            client.PutItemAsync(new PutItemRequest { TableName = table, Item = new() { ["pk"] = S($"w{w}-{i}"), ["pad"] = S(pad) } }, ct)));

        // Catalog updates, as the replicator's pass made them: each appends a catalog record and waits for it.
        var catalog = Enumerable.Range(0, 2).Select(_ => HammerAsync(load, stop.Task, "UpdateTable", (i, ct) =>
            client.UpdateTableAsync(new UpdateTableRequest { TableName = table, DeletionProtectionEnabled = i % 2 == 0 }, ct)));
        var all = Task.WhenAll([.. writers, .. catalog]);
        if (during != null) await during();
        else await Task.Delay(duration);
        stop.SetResult();

        // Every loop ends once its call in flight answers; a call can take at most the bound.
        await all.WaitAsync(Bound + TimeSpan.FromSeconds(10));
        return load;
    }

    private static Dictionary<string, string> Storage(AzuriteProcess azurite, int inFlight) => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["Engine__Blob__LeaseSeconds"] = "60",
        ["Engine__Blob__AppendsInFlight"] = inFlight.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static async Task<string> BlobLogAsync(HostProcess host)
    {
        using var metrics = JsonDocument.Parse(await (await host.SendAdminAsync(HttpMethod.Get, "/admin/metrics")).Content.ReadAsStringAsync());
        return metrics.RootElement.GetProperty("BlobLog").GetRawText();
    }

    [Theory]
    [InlineData(4)]
    [InlineData(1)]
    public async Task WritesAndCatalogUpdates_UnderLoad_EveryDurableWaitEnds(int inFlight)
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite, inFlight) });
        using var client = host.CreateClient();
        var table = await CreateAsync(client, "durable-wait");

        var load = await HammerAsync(host, table, TimeSpan.FromSeconds(20));
        var detail = $"{load.Acknowledged} acknowledged, longest {load.MaxMicros / 1000} ms; blob log {await BlobLogAsync(host)}\n"
            + string.Join("\n", load.Errors.Distinct().Take(20)) + "\n" + host.Output[^Math.Min(host.Output.Length, 4000)..];
        Assert.True(load.Errors.IsEmpty, detail); // storage is up: nothing hangs, nothing is refused either
        Assert.True(load.Acknowledged > 100, detail);
    }

    [Fact]
    public async Task AzuriteFrozenUnderLoad_EveryRequestAnswers_AndWritesWorkAgain()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite, 4) });
        using var client = host.CreateClient();
        var table = await CreateAsync(client, "durable-freeze");

        // Frozen for 5 s several times, each while appends are in flight: appends time out, some land later.
        var load = await HammerAsync(host, table, TimeSpan.Zero, async () =>
        {
            for (var round = 0; round < 3; round++)
            {
                await Task.Delay(3000);
                await azurite.PauseAsync();
                await Task.Delay(5000);
                await azurite.ResumeAsync();
            }

            await Task.Delay(3000);
        });
        var detail = $"{load.Acknowledged} acknowledged, longest {load.MaxMicros / 1000} ms; blob log {await BlobLogAsync(host)}\n"
            + string.Join("\n", load.Errors.Distinct().Take(20)) + "\n" + host.Output[^Math.Min(host.Output.Length, 4000)..];
        Assert.False(load.Errors.Any(e => e.StartsWith("HANG", StringComparison.Ordinal)), detail);
        Assert.True(load.Errors.Any(e => e.Contains("Blob storage is unreachable", StringComparison.Ordinal)), detail);

        // Writes and catalog updates are acknowledged again, promptly.
        var after = await HammerAsync(host, table, TimeSpan.FromSeconds(5));
        Assert.Empty(after.Errors);
        Assert.True(after.Acknowledged > 10, detail);
    }
}
