using Amazon.DynamoDBv2.Model;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.BlobDurability;

/// <summary>
/// Issue 13: a backlog over 4 MiB ships in pieces (one block each), and an owner killed between two pieces leaves
/// the log blob ending inside a record. Here appends are held (<c>SERVERLESS_TEST_HOLD_APPENDS</c>) while about 5 MiB
/// of writes are logged locally, then released with <c>SERVERLESS_TEST_KILL_AFTER_PIECE</c>: the owner is SIGKILLed
/// once the first piece landed. The replacement cuts the torn tail and acknowledges a new write; a third instance,
/// after a SIGKILL of the second, must still hold it. Before the fix the second instance appended at its shorter
/// local offset, was refused, and took the blob's torn bytes for its record: acknowledged, and gone at the next start.
/// </summary>
public sealed class TornTailTests
{
    private static HostProcessOptions Options(AzuriteProcess azurite, string holdFile, string killFile) => new()
    {
        Environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Engine__Blob__Container"] = "torntail",
            ["Engine__Blob__LeaseSeconds"] = "15",
            ["Engine__Blob__AppendsInFlight"] = "1", // one piece at a time: the kill lands between the first and the second
            ["Engine__CheckpointLogBytes"] = (1L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SERVERLESS_TEST_HOLD_APPENDS"] = holdFile,
            ["SERVERLESS_TEST_KILL_AFTER_PIECE"] = killFile,
        },
        StartTimeout = TimeSpan.FromSeconds(120),
    };

    [Fact]
    public async Task OwnerKilledBetweenPiecesOfABacklog_NextOwnersAcknowledgedWrite_SurvivesItsSigkill()
    {
        var holdFile = Path.Combine(Path.GetTempPath(), "fence-hold-" + Guid.NewGuid().ToString("N"));
        var killFile = Path.Combine(Path.GetTempPath(), "fence-kill-" + Guid.NewGuid().ToString("N"));
        await using var azurite = await AzuriteProcess.StartAsync();
        string table;
        try
        {
            await using (var first = await HostProcess.StartAsync(Options(azurite, holdFile, killFile)))
            {
                using var client = first.CreateClient();
                table = await CreateAsync(client, "torn");
                await client.PutItemAsync(table, new() { ["pk"] = S("before") });

                File.WriteAllText(holdFile, "");
                using var held = first.CreateClient(c => (c.MaxErrorRetry, c.Timeout) = (0, TimeSpan.FromSeconds(120)));
                var big = new string('x', 350_000);
                var puts = Enumerable.Range(0, 15).Select(i => held.PutItemAsync(table, new() { ["pk"] = S($"big{i}"), ["pad"] = S(big) })).ToList();
                var deadline = DateTime.UtcNow.AddSeconds(60);
                for (var i = 0; i < puts.Count;)
                {
                    if ((await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key($"big{i}"), ProjectionExpression = "pk" })).IsItemSet)
                    {
                        i++;
                        continue;
                    }

                    Assert.True(DateTime.UtcNow < deadline, "the held writes were never applied");
                    await Task.Delay(50);
                }

                Assert.All(puts, p => Assert.False(p.IsCompleted, "a held write completed"));
                File.WriteAllText(killFile, "");
                File.Delete(holdFile); // the backlog ships: a 4 MiB piece, then the hook kills the process
                var nudge = held.PutItemAsync(table, new() { ["pk"] = S("nudge") }); // a waiting writer wakes the appender
                deadline = DateTime.UtcNow.AddSeconds(60);
                while (!first.HasExited)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the owner was not killed after the first piece");
                    await Task.Delay(50);
                }

                await Task.WhenAll([.. puts, nudge]).ContinueWith(_ => { }); // never acknowledged
            }

            File.Delete(killFile);
            var blobs = new BlobContainerClient(azurite.ConnectionString, "torntail").GetBlobs(new GetBlobsOptions { Prefix = "log/" }).ToList();
            Assert.Contains(blobs, b => b.Properties.ContentLength >= 4 * 1024 * 1024); // the first piece landed

            await using (var second = await HostProcess.StartAsync(Options(azurite, holdFile, killFile)))
            {
                Assert.Contains("ended inside a record", second.Output, StringComparison.Ordinal);
                using var client = second.CreateClient();
                Assert.True((await client.GetItemAsync(table, Key("before"))).IsItemSet);
                await client.PutItemAsync(table, new() { ["pk"] = S("after"), ["v"] = S("acknowledged") });
                await second.KillAsync();
            }

            await using var third = await HostProcess.StartAsync(Options(azurite, holdFile, killFile));
            using var after = third.CreateClient();
            Assert.True((await after.GetItemAsync(table, Key("before"))).IsItemSet, "the first owner's acknowledged write is lost");
            var got = await after.GetItemAsync(table, Key("after"));
            Assert.True(got.IsItemSet, "the second owner's acknowledged write is lost");
            Assert.Equal("acknowledged", got.Item["v"].S);
            await after.PutItemAsync(table, new() { ["pk"] = S("third") });
            Assert.True((await after.GetItemAsync(table, Key("third"))).IsItemSet);
        }
        finally
        {
            File.Delete(holdFile);
            File.Delete(killFile);
        }
    }
}
