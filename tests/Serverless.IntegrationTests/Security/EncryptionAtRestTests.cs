using System.Security.Cryptography;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Security;

/// <summary>
/// Encryption at rest through the real host: nothing the engine writes to its data directory or to blob storage
/// (Azurite's own files) holds a marker written through the API, in UTF-8 or UTF-16; the marker reads back through
/// the API; master keys are checked at start and rotate without rewriting data.
/// </summary>
public sealed class EncryptionAtRestTests
{
    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Writes the marker as table name, attribute name, key, value, index key, transaction token and backup name; returns the table.</summary>
    private static async Task<string> WriteMarkersAsync(HttpClient http, IAmazonDynamoDB client, string marker)
    {
        var table = "tbl" + marker;
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S), new AttributeDefinition("gsi" + marker, ScalarAttributeType.S)],
            GlobalSecondaryIndexes =
            [
                new GlobalSecondaryIndex
                {
                    IndexName = "idx" + marker, KeySchema = [new KeySchemaElement("gsi" + marker, KeyType.HASH)],
                    Projection = new Projection { ProjectionType = ProjectionType.ALL },
                },
            ],
            StreamSpecification = new StreamSpecification { StreamEnabled = true, StreamViewType = StreamViewType.NEW_AND_OLD_IMAGES },
        });
        await client.PutItemAsync(table, new()
        {
            ["pk"] = S("key" + marker), ["attr" + marker] = S("value " + marker + " " + new string('v', 2000)), ["gsi" + marker] = S("g" + marker),
        });
        await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            ClientRequestToken = "tok" + marker[..20],
            TransactItems = [new TransactWriteItem { Put = new Put { TableName = table, Item = new() { ["pk"] = S("tx" + marker), ["v"] = S(marker) } } }],
        });
        (await http.PostAsync("/admin/functions/Checkpoint", null)).EnsureSuccessStatusCode();
        await client.CreateBackupAsync(new CreateBackupRequest { TableName = table, BackupName = "bak" + marker[..20] });
        (await http.PostAsync("/admin/functions/Checkpoint", null)).EnsureSuccessStatusCode();
        return table;
    }

    /// <summary>The control: the marker reads back through the API.</summary>
    private static async Task AssertReadableAsync(IAmazonDynamoDB client, string table, string marker)
    {
        var got = await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("key" + marker), ConsistentRead = true });
        Assert.StartsWith("value " + marker, got.Item["attr" + marker].S);
        var tx = await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("tx" + marker), ConsistentRead = true });
        Assert.Equal(marker, tx.Item["v"].S);
        var described = await client.DescribeTableAsync(table);
        Assert.Equal("idx" + marker, described.Table.GlobalSecondaryIndexes.Single().IndexName);
    }

    /// <summary>Every file under <paramref name="root"/> that contains any needle (UTF-8 or UTF-16LE); also how many bytes were read.</summary>
    private static (List<string> Hits, long Bytes, int Files) Scan(string root, params string[] needles)
    {
        var patterns = needles.SelectMany(n => new[] { Encoding.UTF8.GetBytes(n), Encoding.Unicode.GetBytes(n) }).ToList();
        var hits = new List<string>();
        long bytes = 0;
        var files = 0;
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            byte[] data;
            if (new FileInfo(path).Length == 0)
            {
                files++; // nothing to read (the LOCK file, which the running host holds exclusively)
                continue;
            }

            try
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                data = new byte[fs.Length];
                fs.ReadExactly(data);
            }
            catch (FileNotFoundException)
            {
                continue; // deleted while scanning (a temporary file)
            }

            bytes += data.Length;
            files++;
            foreach (var p in patterns)
                if (data.AsSpan().IndexOf(p) >= 0) hits.Add($"{path} holds {Encoding.UTF8.GetString(p)}");
        }

        return (hits, bytes, files);
    }

    private static string[] Needles(string marker) => [marker, marker[..16], "value " + marker[..8]];

    [Fact]
    public async Task Marker_IsInNoByteOfTheDataDirectory_AndReadsBackThroughTheApi()
    {
        var marker = "mk" + Guid.NewGuid().ToString("N");
        await using var host = await HostProcess.StartAsync();
        using var http = host.CreateHttpClient();
        using var client = host.CreateClient();
        var table = await WriteMarkersAsync(http, client, marker);
        await AssertReadableAsync(client, table, marker);

        var (hits, bytes, files) = Scan(host.DataDirectory, Needles(marker));
        Assert.Empty(hits);
        // The scanner itself finds a marker stored in clear, in either encoding.
        var probe = Directory.CreateTempSubdirectory("probe-").FullName;
        await File.WriteAllBytesAsync(Path.Combine(probe, "plain"), [1, .. Encoding.Unicode.GetBytes("x" + marker), 2]);
        Assert.Single(Scan(probe, Needles(marker)[0]).Hits);
        Directory.Delete(probe, recursive: true);
        Assert.True(bytes > 0 && files > 0);
        // The scan covered every kind of file the engine writes.
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(host.DataDirectory, "changelog"), "*.log"));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(host.DataDirectory, "backups"), "*.bak"));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(host.DataDirectory, "store", "checkpoints"), "*", SearchOption.AllDirectories));
        Assert.True(File.Exists(Path.Combine(host.DataDirectory, "manifest.json")));
        Assert.True(File.Exists(Path.Combine(host.DataDirectory, "store.key")));
        Assert.True(File.Exists(Path.Combine(host.DataDirectory, "master.key"))); // none configured: the store's own key
        Assert.Contains("encryption at rest: AES-256-GCM; the master key was generated and is kept with the store (" + Path.Combine(host.DataDirectory, "master.key") + "): set Encryption__Key in production", host.Output);

        // After a graceful stop (final checkpoint) and a restart, still nothing in clear, and the data is there.
        Assert.Equal(0, await host.StopAsync());
        Assert.Empty(Scan(host.DataDirectory, Needles(marker)).Hits);
        await host.RestartAsync();
        using var again = host.CreateClient();
        await AssertReadableAsync(again, table, marker);
    }

    [Fact]
    public async Task Marker_IsInNoByteOfTheAzuriteContainer_NorTheLocalCache()
    {
        var marker = "mk" + Guid.NewGuid().ToString("N");
        await using var azurite = await AzuriteProcess.StartAsync();
        var environment = new Dictionary<string, string> { ["AzureWebJobsStorage"] = azurite.ConnectionString, ["Encryption__Key"] = NewKey() };
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment });
        using var http = host.CreateHttpClient();
        using var client = host.CreateClient();
        var table = await WriteMarkersAsync(http, client, marker);
        await AssertReadableAsync(client, table, marker);
        Assert.Equal(0, await host.StopAsync());

        var (hits, bytes, _) = Scan(azurite.Location, Needles(marker));
        Assert.Empty(hits);
        Assert.True(bytes > 4096, $"Azurite holds {bytes} bytes");
        Assert.Empty(Scan(host.DataDirectory, Needles(marker)).Hits);

        // A fresh instance (an empty disk) opens the store from the container with the configured key.
        await using var fresh = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, StartTimeout = TimeSpan.FromSeconds(90) });
        using var freshClient = fresh.CreateClient();
        await AssertReadableAsync(freshClient, table, marker);
    }

    [Fact]
    public async Task WrongMasterKey_FailsAtStart_WithOneClearLine_AndRotationRewrapsTheKeyFile()
    {
        var first = NewKey();
        var second = NewKey();
        var environment = new Dictionary<string, string> { ["Encryption__Key"] = first };
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment });
        Assert.Contains("encryption at rest: AES-256-GCM; data key wrapped by the master key from Encryption__Key", host.Output);
        using (var client = host.CreateClient())
        {
            var table = await CreateAsync(client, "rot");
            await client.PutItemAsync(table, new() { ["pk"] = S("a"), ["v"] = S("kept") });
            Assert.Equal(0, await host.StopAsync());
            var keyFile = Path.Combine(host.DataDirectory, "store.key");
            var wrappedByFirst = await File.ReadAllBytesAsync(keyFile);

            // The wrong key: the host refuses to start and says why, in one line.
            var refused = await HostProcess.RunToExitAsync(["--port", "0", "--data-dir", host.DataDirectory], environment: new Dictionary<string, string> { ["Encryption__Key"] = second });
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("error: could not start: the store's data key", refused.StandardError);
            Assert.Contains("wrong encryption key", refused.StandardError);
            Assert.Equal(wrappedByFirst, await File.ReadAllBytesAsync(keyFile)); // untouched

            // A key that is not 32 bytes of base64 is refused as clearly.
            var bad = await HostProcess.RunToExitAsync(["--port", "0", "--data-dir", host.DataDirectory], environment: new Dictionary<string, string> { ["Encryption__Key"] = "c2hvcnQ=" });
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains("Encryption__Key must be 32 bytes", bad.StandardError);

            // Rotation: the new key, with the old one as previous. The data key is re-wrapped, the data is not rewritten.
            var segments = Directory.GetFiles(Path.Combine(host.DataDirectory, "changelog"), "*.log").ToDictionary(f => f, File.ReadAllBytes);
            environment["Encryption__Key"] = second;
            environment["Encryption__PreviousKeys__0"] = first;
            await host.RestartAsync();
            using (var rotated = host.CreateClient())
                Assert.Equal("kept", (await rotated.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("a"), ConsistentRead = true })).Item["v"].S);
            var rewrapped = await File.ReadAllBytesAsync(keyFile);
            Assert.Equal(wrappedByFirst.Length, rewrapped.Length);
            Assert.NotEqual(wrappedByFirst[8..24], rewrapped[8..24]); // another master key id
            Assert.Equal(0, await host.StopAsync());
            foreach (var (path, before) in segments)
                if (File.Exists(path)) Assert.Equal(before.Take(256), File.ReadAllBytes(path).Take(256)); // records not rewritten

            // Now the new key alone opens it, and the old one alone no longer does.
            environment.Remove("Encryption__PreviousKeys__0");
            await host.RestartAsync();
            using (var after = host.CreateClient())
                Assert.Equal("kept", (await after.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("a"), ConsistentRead = true })).Item["v"].S);
            Assert.Equal(0, await host.StopAsync());
            var old = await HostProcess.RunToExitAsync(["--port", "0", "--data-dir", host.DataDirectory], environment: new Dictionary<string, string> { ["Encryption__Key"] = first });
            Assert.Equal(1, old.ExitCode);
            Assert.Contains("wrong encryption key", old.StandardError);
        }
    }
}
