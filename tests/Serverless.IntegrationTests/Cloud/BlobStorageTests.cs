using System.Collections.Concurrent;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Cloud;

/// <summary>
/// The store in blob storage (a real Azurite, installed from npm by the fixture): acknowledged writes survive the
/// loss of the instance's disk, one instance owns a store, and storage outages refuse writes instead of losing them.
/// </summary>
public sealed class BlobStorageTests
{
    private static Dictionary<string, string> Storage(AzuriteProcess azurite, bool standby = false) => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["Engine__Blob__LeaseSeconds"] = "15",
        ["Engine__Blob__Standby"] = standby ? "true" : "false",
        ["Engine__CheckpointLogBytes"] = "262144", // several snapshot uploads during the load
    };

    /// <summary>Puts items from 8 writers until stopped; returns the keys whose PutItem was acknowledged.</summary>
    private static async Task<ConcurrentBag<string>> WriteUntilAsync(
        IAmazonDynamoDB client, string table, Task stop, ConcurrentBag<string>? failures = null, ConcurrentBag<string>? acknowledged = null)
    {
        acknowledged ??= [];
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCompleted; i++)
            {
                var key = $"w{w}-{i}";
                try
                {
                    await client.PutItemAsync(table, new() { ["pk"] = S(key), ["pad"] = S(new string('x', 300)) });
                    acknowledged.Add(key);
                }
                catch (Exception e) when (e is AmazonDynamoDBException or HttpRequestException or TaskCanceledException or IOException)
                {
                    failures?.Add(e.Message);
                    await Task.Delay(20);
                }
            }
        })).ToList();
        await Task.WhenAll(writers);
        return acknowledged;
    }

    private static async Task AssertAllPresentAsync(IAmazonDynamoDB client, string table, IEnumerable<string> keys)
    {
        var missing = new List<string>();
        foreach (var chunk in keys.Chunk(100))
        {
            var got = await client.BatchGetItemAsync(new BatchGetItemRequest
            {
                RequestItems = new() { [table] = new KeysAndAttributes { Keys = [.. chunk.Select(Key)], ConsistentRead = true } },
            });
            var found = got.Responses[table].Select(i => i["pk"].S).ToHashSet();
            missing.AddRange(chunk.Where(k => !found.Contains(k)));
        }

        Assert.Empty(missing);
    }

    [Fact]
    public async Task FreshInstance_AfterSigkillAndLostDisk_HasEveryAcknowledgedWrite_AndTheLeaseGuardsTheStore()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var first = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite) });
        string table;
        ConcurrentBag<string> acknowledged;
        string backup;
        using (var client = first.CreateClient())
        {
            table = await CreateAsync(client, "blob");
            acknowledged = await WriteUntilAsync(client, table, Task.Delay(TimeSpan.FromSeconds(4)));
            backup = (await client.CreateBackupAsync(new CreateBackupRequest { TableName = table, BackupName = "before-the-crash" })).BackupDetails.BackupArn;
        }

        Assert.NotEmpty(acknowledged);

        // A second instance on the same store is refused while the first holds the lease.
        var refused = await HostProcess.RunToExitAsync(["--port", "0", "--data-dir", Path.Combine(Path.GetTempPath(), "second-" + Guid.NewGuid().ToString("N"))], environment: Storage(azurite));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("owned by another instance", refused.StandardError + refused.StandardOutput);

        // SIGKILL, and the disk is gone: a new instance (a standby, waiting out the dead owner's lease) rebuilds
        // the store from blob storage alone.
        await first.KillAsync();
        Directory.Delete(first.DataDirectory, recursive: true);
        await first.DisposeAsync();
        await using var second = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite, standby: true), StartTimeout = TimeSpan.FromSeconds(90) });
        using var after = second.CreateClient();
        await AssertAllPresentAsync(after, table, acknowledged);

        // Backups live in blob storage too: the new instance lists and restores the one taken before the crash.
        Assert.Contains(backup, (await after.ListBackupsAsync(new ListBackupsRequest { TableName = table })).BackupSummaries.Select(b => b.BackupArn));
        await after.RestoreTableFromBackupAsync(new RestoreTableFromBackupRequest { BackupArn = backup, TargetTableName = table + "-r" });
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await after.DescribeTableAsync(table + "-r")).Table.TableStatus != TableStatus.ACTIVE)
        {
            Assert.True(DateTime.UtcNow < deadline, "the restored table did not become ACTIVE");
            await Task.Delay(100);
        }

        await AssertAllPresentAsync(after, table + "-r", acknowledged);
    }

    [Fact]
    public async Task StorageOutage_RefusesWrites_ThenRecoversByItself_WithoutLosingAcknowledgedOnes()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite) });
        using var client = host.CreateClient();
        var table = await CreateAsync(client, "outage");
        var stop = new TaskCompletionSource();
        var failures = new ConcurrentBag<string>();
        var acknowledgedSoFar = new ConcurrentBag<string>();
        var load = WriteUntilAsync(client, table, stop.Task, failures, acknowledgedSoFar);
        int ackCount() => acknowledgedSoFar.Count;
        await Task.Delay(1000);
        await azurite.PauseAsync();

        // Replies sent just before the pause may be recorded a little later on a loaded machine: start counting after 2 s.
        await Task.Delay(2000);
        var ackedAtOutageStart = ackCount();
        await Task.Delay(7000);
        var refusedDuringOutage = failures.Count;
        var ackedDuringOutage = ackCount() - ackedAtOutageStart;
        await azurite.ResumeAsync();
        await Task.Delay(3000);
        stop.SetResult();
        var acknowledged = await load;

        Assert.True(refusedDuringOutage > 0, $"writes must be refused while blob storage is down (acknowledged meanwhile: {ackedDuringOutage})\n{host.Output}");
        Assert.Equal(0, ackedDuringOutage);
        Assert.True(failures.Any(f => f.Contains("Blob storage is unreachable", StringComparison.Ordinal)), string.Join("\n", failures.Distinct().Take(5)));

        // Writes work again without a restart.
        await client.PutItemAsync(table, new() { ["pk"] = S("after-outage") });

        // And everything acknowledged is in blob storage: a fresh instance finds it.
        await host.KillAsync();
        await using var fresh = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite, standby: true), StartTimeout = TimeSpan.FromSeconds(90) });
        using var after = fresh.CreateClient();
        await AssertAllPresentAsync(after, table, [.. acknowledged, "after-outage"]);
    }

    [Fact]
    public async Task LostLease_StopsAcknowledgingWrites()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = Storage(azurite) });
        using var client = host.CreateClient(c => c.MaxErrorRetry = 0);
        var table = await CreateAsync(client, "lease");
        await client.PutItemAsync(table, new() { ["pk"] = S("before") });

        // Storage unreachable for longer than the lease (15 s): another instance may own the store by now, so this one
        // must never acknowledge a write again, even once storage is back.
        await azurite.PauseAsync();
        await Task.Delay(TimeSpan.FromSeconds(17));
        await azurite.ResumeAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        var e = await Assert.ThrowsAnyAsync<AmazonDynamoDBException>(() => client.PutItemAsync(table, new() { ["pk"] = S("after") }));
        Assert.Contains("lost the store's lease", e.Message, StringComparison.Ordinal);
    }
}
