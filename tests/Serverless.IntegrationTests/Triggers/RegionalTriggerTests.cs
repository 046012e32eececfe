using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.GlobalTables;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Triggers;

/// <summary>
/// Triggers in a host serving several regions (<c>LocalHost__Regions</c>): each region's engine has its own stream
/// fan-out, a mapping reads the table of the region it names, and a replicated write fires the receiving region's
/// mapping, as a Lambda on a replica's stream sees it. In-process queues; the AuditLog handler takes every region's
/// batches from one queue, and each record's <c>eventSourceARN</c> and <c>awsRegion</c> say which region sent it.
/// </summary>
public sealed class RegionalTriggerTests
{
    private const string East = "us-east-1", West = "eu-west-1";

    [Fact]
    public async Task Trigger_NamingASecondRegion_FiresForWritesInThatRegion_AndTheStatusShowsEachRegion()
    {
        // The same table name in both regions, two unrelated regional tables: mapping 0 names eu-west-1 by Region,
        // mapping 1 names us-east-1 by the stream ARN of Lambda's EventSourceArn. Both have the default Name.
        var queue = NewQueue();
        await using var host = await StartAsync(queue,
            ("0", "Table", "Orders"), ("0", "Region", West),
            ("1", "EventSourceArn", $"arn:aws:dynamodb:{East}:000000000000:table/Orders/stream/2026-01-01T00:00:00.000"));
        using var east = host.CreateClient();
        using var west = host.CreateClient(c => c.AuthenticationRegion = West);
        await TriggerTests.CreateStreamTableAsync(east, "Orders");
        await TriggerTests.CreateStreamTableAsync(west, "Orders");

        for (var i = 0; i < 3; i++) await TriggerTests.PutAsync(west, "Orders", $"west{i}", i);
        await TriggerTests.PutAsync(east, "Orders", "east0", 0);

        var records = await WaitForEndsAsync(host, (east, "Orders", [East]), (west, "Orders", [West]));
        Assert.Equal(["west0", "west1", "west2", "end-eu-west-1"], records.Where(r => RegionOf(r) == West).Select(TriggerTests.Key));
        Assert.Equal(["east0", "end-us-east-1"], records.Where(r => RegionOf(r) == East).Select(TriggerTests.Key));
        Assert.Equal(6, records.Count);
        Assert.All(records, r => Assert.StartsWith($"arn:aws:dynamodb:{RegionOf(r)}:000000000000:table/Orders/stream/", r.GetProperty("eventSourceARN").GetString()));

        // GET /admin/triggers: each region's fan-out and each mapping with its region, caught up.
        using var status = JsonDocument.Parse(await (await host.SendAdminAsync(HttpMethod.Get, "/admin/triggers")).Content.ReadAsStringAsync());
        var regions = status.RootElement.GetProperty("Regions").EnumerateArray().ToList();
        Assert.Equal([East, West], regions.Select(r => r.GetProperty("Region").GetString()));
        Assert.All(regions, r => Assert.Equal(1, r.GetProperty("Mappings").GetInt32()));
        Assert.All(regions, r => Assert.Equal(JsonValueKind.String, r.GetProperty("LastPass").ValueKind));
        var mappings = status.RootElement.GetProperty("Mappings").EnumerateArray().ToList();
        Assert.Equal([East, West], mappings.Select(m => m.GetProperty("Region").GetString()));
        Assert.All(mappings, m => Assert.Equal("Orders-" + queue, m.GetProperty("Name").GetString()));
        Assert.All(mappings, m => Assert.Equal(0, m.GetProperty("RecordsBehind").GetInt32()));

        // Each region's checkpoint is in that region's data directory.
        foreach (var region in new[] { East, West })
            Assert.True(File.Exists(Path.Combine(host.DataDirectory, region, "triggers", $"Orders-{queue}.json")), $"no checkpoint for {region}");
    }

    [Fact]
    public async Task Trigger_OnAGlobalTable_InBothRegions_AWriteInEitherFiresBoth_TheOtherWithTheReplicatedRecord()
    {
        await using var host = await StartAsync(NewQueue(), ("0", "Table", "music"), ("0", "Region", East), ("1", "Table", "music"), ("1", "Region", West));
        using var east = host.CreateClient();
        using var west = host.CreateClient(c => c.AuthenticationRegion = West);
        await CreateGlobalTableAsync(east, west);

        await TriggerTests.PutAsync(east, "music", "from-east", 1);
        await east.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = "music", Key = GlobalTableTests.Key("from-east"), UpdateExpression = "SET n = :n",
            ExpressionAttributeValues = new() { [":n"] = new() { N = "2" } },
        });
        await TriggerTests.PutAsync(west, "music", "from-west", 7);

        var records = await WaitForEndsAsync(host, (east, "music", [East, West]), (west, "music", [East, West]));
        Assert.Equal(2 * (3 + 2), records.Count);
        foreach (var region in new[] { East, West })
        {
            var seen = records.Where(r => RegionOf(r) == region && !IsEnd(r)).ToList();
            Assert.Equal(["from-east:INSERT:1", "from-east:MODIFY:2", "from-west:INSERT:7"],
                seen.Select(r => $"{TriggerTests.Key(r)}:{r.GetProperty("eventName").GetString()}:{N(r, "NewImage")}").Order(StringComparer.Ordinal));
            Assert.All(seen, r => Assert.StartsWith($"arn:aws:dynamodb:{region}:000000000000:table/music/stream/", r.GetProperty("eventSourceARN").GetString()));
        }

        // The replicated MODIFY in eu-west-1 carries the old image as that replica had it.
        var replicated = records.Single(r => RegionOf(r) == West && r.GetProperty("eventName").GetString() == "MODIFY");
        Assert.Equal("1", N(replicated, "OldImage"));
    }

    [Fact]
    public async Task Triggers_InBothRegions_SurviveARestart_WithoutRedeliveringAcknowledgedRecords()
    {
        await using var host = await StartAsync(NewQueue(), ("0", "Table", "music"), ("0", "Region", East), ("1", "Table", "music"), ("1", "Region", West));
        using (var east = host.CreateClient())
        using (var west = host.CreateClient(c => c.AuthenticationRegion = West))
        {
            await CreateGlobalTableAsync(east, west);
            for (var i = 0; i < 10; i++) await TriggerTests.PutAsync(i % 2 == 0 ? east : west, "music", $"a{i}", i);
        }

        // Every change is delivered in both regions (10 each) and checkpointed before the restart.
        await TriggerTests.WaitForAuditAsync(host, r => r.Count >= 20);
        await host.RestartAsync();
        using (var east = host.CreateClient())
        using (var west = host.CreateClient(c => c.AuthenticationRegion = West))
        {
            for (var i = 0; i < 10; i++) await TriggerTests.PutAsync(i % 2 == 0 ? west : east, "music", $"b{i}", i);
        }

        List<JsonElement> records;
        using (var east = host.CreateClient())
        using (var west = host.CreateClient(c => c.AuthenticationRegion = West))
            records = await WaitForEndsAsync(host, (east, "music", [East, West]), (west, "music", [East, West]));

        // Each region: every change once, none of the 10 delivered before the restart a second time.
        var expected = Enumerable.Range(0, 10).SelectMany(i => new[] { $"a{i}", $"b{i}" }).Order(StringComparer.Ordinal).ToList();
        foreach (var region in new[] { East, West })
            Assert.Equal(expected, records.Where(r => RegionOf(r) == region && !IsEnd(r)).Select(TriggerTests.Key).Order(StringComparer.Ordinal));
        Assert.Equal(2 * (20 + 2), records.Count);

        // Then a crash (SIGKILL) once all that was handled: after the restart nothing is lost in either region, and
        // at most the batch whose checkpoint the kill prevented comes again, as TriggerTests' crash test allows.
        await host.KillAsync();
        await host.RestartAsync();
        using (var east = host.CreateClient())
        using (var west = host.CreateClient(c => c.AuthenticationRegion = West))
        {
            for (var i = 0; i < 10; i++) await TriggerTests.PutAsync(i % 2 == 0 ? east : west, "music", $"c{i}", i);
            records = await WaitForEndsAsync(host, (east, "music", [East, West]), (west, "music", [East, West]), round: 2);
        }

        expected = [.. expected.Concat(Enumerable.Range(0, 10).Select(i => $"c{i}")).Order(StringComparer.Ordinal)];
        foreach (var region in new[] { East, West })
        {
            var seen = records.Where(r => RegionOf(r) == region && !IsEnd(r)).ToList();
            Assert.Equal(expected, seen.Select(TriggerTests.Key).Distinct().Order(StringComparer.Ordinal));
            Assert.InRange(seen.Count - seen.Select(r => r.GetProperty("dynamodb").GetProperty("SequenceNumber").GetString()).Distinct().Count(), 0, 2);
        }
    }

    [Fact]
    public async Task Trigger_NamingARegionTheHostDoesNotServe_StopsStartUp()
    {
        var result = await HostProcess.RunToExitAsync(["--port", "0"], environment: new Dictionary<string, string>
        {
            ["LocalHost__Regions"] = $"{East},{West}",
            ["Triggers__0__Table"] = "Orders",
            ["Triggers__0__Queue"] = "audit-log",
            ["Triggers__0__Region"] = "ap-south-1",
        });
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Triggers:0:Region 'ap-south-1' is not a region this host serves (us-east-1, eu-west-1).", result.StandardOutput + result.StandardError);
    }

    /// <summary>A host serving both regions whose AuditLog function reads a fresh queue that every mapping sends to.</summary>
    private static Task<HostProcess> StartAsync(string queue, params (string Index, string Name, string Value)[] settings)
    {
        var environment = new Dictionary<string, string>
        {
            ["LocalHost__Regions"] = $"{East},{West}",
            ["AuditLogQueue"] = queue,
        };
        foreach (var index in settings.Select(s => s.Index).Distinct()) environment[$"Triggers__{index}__Queue"] = queue;
        foreach (var (index, name, value) in settings) environment[$"Triggers__{index}__{name}"] = value;
        return HostProcess.StartAsync(new HostProcessOptions { Environment = environment });
    }

    private static string NewQueue() => $"audit-regions-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Table music in us-east-1 with a stream, and its replica in eu-west-1, ACTIVE and empty.</summary>
    private static async Task CreateGlobalTableAsync(AmazonDynamoDBClient east, AmazonDynamoDBClient west)
    {
        await TriggerTests.CreateStreamTableAsync(east, "music");
        await east.UpdateTableAsync(GlobalTableTests.AddReplica("music", West));
        await GlobalTableTests.EventuallyAsync(async () => (await east.DescribeTableAsync("music")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }]);
        await GlobalTableTests.EventuallyAsync(async () => (await west.DescribeTableAsync("music")).Table.TableStatus == TableStatus.ACTIVE);
    }

    /// <summary>
    /// Writes an end marker <c>end-{region}</c> (<c>end{round}-{region}</c> after the first round) through each
    /// client and waits until each appears in the regions given: a mapping delivers in log order and the handler takes one message at a time, so everything written
    /// before a marker is in the audit log once the marker is.
    /// </summary>
    private static async Task<List<JsonElement>> WaitForEndsAsync(
        HostProcess host, (AmazonDynamoDBClient Client, string Table, string[] SeenIn) first, (AmazonDynamoDBClient Client, string Table, string[] SeenIn) second, int round = 1)
    {
        var expected = new List<(string Key, string Region)>();
        foreach (var (client, table, seenIn) in new[] { first, second })
        {
            var key = (round == 1 ? "end-" : $"end{round}-") + client.Config.AuthenticationRegion;
            await TriggerTests.PutAsync(client, table, key, 0);
            expected.AddRange(seenIn.Select(region => (key, region)));
        }

        return await TriggerTests.WaitForAuditAsync(host, r => expected.All(e => r.Any(x => TriggerTests.Key(x) == e.Key && RegionOf(x) == e.Region)));
    }

    private static bool IsEnd(JsonElement record) => TriggerTests.Key(record).StartsWith("end", StringComparison.Ordinal);

    private static string RegionOf(JsonElement record) => record.GetProperty("awsRegion").GetString()!;

    private static string? N(JsonElement record, string image) =>
        record.GetProperty("dynamodb").TryGetProperty(image, out var i) ? i.GetProperty("n").GetProperty("N").GetString() : null;
}
