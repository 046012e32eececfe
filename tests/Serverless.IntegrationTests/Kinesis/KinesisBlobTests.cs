using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Kinesis;

/// <summary>
/// Kinesis records with the store in blob storage (a real Azurite): acknowledged PutRecords survive a SIGKILL and the
/// loss of the data directory, because each frame is appended to its segment's append blob before the answer.
/// </summary>
public sealed class KinesisBlobTests
{
    [Fact]
    public async Task FreshInstance_AfterSigkillAndLostDisk_HasEveryAcknowledgedRecord()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var storage = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Engine__Blob__LeaseSeconds"] = "15",
            ["Engine__Blob__Standby"] = "true",
            ["Kinesis__SegmentBytes"] = "65536",
        };
        string[] acknowledged;
        await using (var first = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage }))
        {
            await KinesisTool.CreateStreamAsync(first, "blob-stream", shards: 2, retentionHours: 8760);
            var output = await KinesisTool.RunAsync(first, "put blob-stream 300");
            acknowledged = [.. output.Split('\n').Where(l => l.StartsWith("ACK ", StringComparison.Ordinal)).Select(l => l[4..].Trim())];
            Assert.Equal(300, acknowledged.Length);
            await first.KillAsync();
        }

        // A new instance with an empty data directory of its own: everything comes from blob storage.
        await using var second = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage, StartTimeout = TimeSpan.FromSeconds(120) });
        var records = await KinesisTool.DumpAsync(second, "blob-stream");
        // Every acknowledged record is there. A put whose blob append timed out was answered with an error, and its
        // record may still have landed (as on Kinesis, a record can exist after an error reply); the client's retry
        // then stores it once more. So the stream holds the acknowledged records plus, at most, such duplicates.
        var stored = records.Select(r => r.SequenceNumber).ToHashSet(StringComparer.Ordinal);
        Assert.All(acknowledged, a => Assert.Contains(a, stored));
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"r{i}").Order(), records.Select(r => System.Text.Encoding.UTF8.GetString(r.Data)).Distinct().Order());
        Assert.Equal(2, Directory.GetFiles(Path.Combine(second.DataDirectory, "kinesis"), "*.seg", SearchOption.AllDirectories).Length); // one per shard, downloaded
        var more = await KinesisTool.RunAsync(second, "put blob-stream 3");
        Assert.Equal(3, more.Split('\n').Count(l => l.StartsWith("ACK ", StringComparison.Ordinal)));
        Assert.Equal(records.Count + 3, (await KinesisTool.DumpAsync(second, "blob-stream")).Count);
    }
}
