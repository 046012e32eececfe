using System.Text;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Security;

/// <summary>
/// Tampering with what the engine persisted: a flipped byte in the middle of a change-log segment, in a FASTER
/// checkpoint, or in a snapshot blob stops the host at start with a clear error naming the file (nothing corrupt is
/// served), while a torn tail of the change log still recovers as the crash it is.
/// </summary>
public sealed class TamperTests
{
    private static async Task<string> WriteItemsAsync(HostProcess host, int count)
    {
        using var client = host.CreateClient();
        var table = await CreateAsync(client, "tamper");
        for (var i = 0; i < count; i++) await client.PutItemAsync(table, new() { ["pk"] = S($"k{i}"), ["v"] = S(new string('v', 200)) });
        return table;
    }

    private static Task<HostRunResult> StartOnAsync(string dataDirectory, IReadOnlyDictionary<string, string>? environment = null) =>
        HostProcess.RunToExitAsync(["--port", "0", "--data-dir", dataDirectory], TimeSpan.FromSeconds(90), environment);

    /// <summary>Where the records of a segment end (a killed host leaves the mapping's zeros after them).</summary>
    private static int RecordsEnd(byte[] segment)
    {
        var end = segment.Length;
        while (end > 0 && segment[end - 1] == 0) end--;
        return end;
    }

    [Fact]
    public async Task FlippedByte_InTheMiddleOfAChangeLogSegment_StopsRecovery_ButATornTailRecovers()
    {
        await using var host = await HostProcess.StartAsync();
        var table = await WriteItemsAsync(host, 40);
        await host.KillAsync(); // everything is in the log only
        var segment = Directory.GetFiles(Path.Combine(host.DataDirectory, "changelog"), "*.log").Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        var end = RecordsEnd(bytes);
        var middle = end / 2;
        bytes[middle] ^= 0x01;
        await File.WriteAllBytesAsync(segment, bytes);

        var refused = await StartOnAsync(host.DataDirectory);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error: could not start: The change-log segment " + segment + " is corrupt at byte ", refused.StandardError);
        Assert.Contains("intact records follow it", refused.StandardError);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(segment)); // nothing was truncated

        // Undo the flip and instead cut the last record short, as a crash mid-write does: recovery drops it.
        bytes[middle] ^= 0x01;
        await File.WriteAllBytesAsync(segment, bytes[..(end - 7)]);
        await host.RestartAsync();
        using var client = host.CreateClient();
        for (var i = 0; i < 39; i++)
            Assert.Equal(200, (await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key($"k{i}"), ConsistentRead = true })).Item["v"].S.Length);
        Assert.False((await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("k39"), ConsistentRead = true })).IsItemSet);
        await client.PutItemAsync(table, new() { ["pk"] = S("after"), ["v"] = S("x") });
    }

    [Fact]
    public async Task FlippedByte_InAFasterCheckpoint_StopsTheStart_NamingTheFile()
    {
        await using var host = await HostProcess.StartAsync();
        await WriteItemsAsync(host, 40);
        Assert.Equal(0, await host.StopAsync()); // the final checkpoint holds every item
        var snapshot = Directory.GetFiles(Path.Combine(host.DataDirectory, "store", "checkpoints"), "snapshot.dat.0", SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(snapshot);
        Assert.True(bytes.Length >= 512);
        bytes[bytes.Length / 2] ^= 0x80;
        await File.WriteAllBytesAsync(snapshot, bytes);

        var refused = await StartOnAsync(host.DataDirectory);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error: could not start: ", refused.StandardError);
        Assert.Contains(snapshot + " is corrupt", refused.StandardError);
    }

    [Fact]
    public async Task FlippedByte_InTheSnapshotBlob_StopsAFreshInstance_NamingTheBlob()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var environment = new Dictionary<string, string> { ["AzureWebJobsStorage"] = azurite.ConnectionString };
        await using (var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment }))
        {
            await WriteItemsAsync(host, 40);
            Assert.Equal(0, await host.StopAsync()); // uploads a snapshot
        }

        // Azurite keeps blob contents in extent files: find the snapshot (a sealed file of kind 1) and flip a byte in it.
        var header = Encoding.ASCII.GetBytes("DDBSEAL1").Append((byte)1).ToArray();
        var flipped = false;
        foreach (var path in Directory.EnumerateFiles(azurite.Location, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(path);
            var at = bytes.AsSpan().LastIndexOf(header);
            if (at < 0) continue;
            bytes[at + 200] ^= 0x01;
            await File.WriteAllBytesAsync(path, bytes);
            flipped = true;
        }

        Assert.True(flipped);
        var data = Directory.CreateTempSubdirectory("fresh-").FullName;
        try
        {
            var refused = await StartOnAsync(data, environment);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("error: could not start: The file ", refused.StandardError);
            // The snapshot streams straight from the container, so the message names the blob's address.
            Assert.Matches(@"The file http://\S+/snapshots/\S+ is corrupt: chunk 0 at byte 20 fails authentication", refused.StandardError);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
