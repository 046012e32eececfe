using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Azure.Storage.Queues;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Triggers;

/// <summary>
/// Triggers end to end on Azurite: the host's StreamFanOut sends a table's stream to a queue, and the example
/// AuditLog queue function appends each change to <c>{data}/audit/audit.log</c>. Every test uses its own queues.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class TriggerTests(AzuriteFixture fixture)
{
    [Fact]
    public async Task Trigger_HandlerReceivesEveryChange_InPerItemOrder()
    {
        await using var host = await StartAsync("order", [("BatchSize", "10")]);
        using var client = host.CreateClient();
        await CreateStreamTableAsync(client, "Orders");

        const int keys = 8, rounds = 20;
        for (var r = 0; r < rounds; r++)
            await Task.WhenAll(Enumerable.Range(0, keys).Select(k => PutAsync(client, "Orders", $"k{k}", r)));
        await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new TransactWriteItem { Put = new Put { TableName = "Orders", Item = Item("k4", rounds) } },
                new TransactWriteItem { Put = new Put { TableName = "Orders", Item = Item("k5", rounds) } },
            ],
        });
        for (var k = 0; k < 4; k++) await client.DeleteItemAsync("Orders", new Dictionary<string, AttributeValue> { ["pk"] = new("k" + k) });
        var expected = keys * rounds + 2 + 4;

        var records = await WaitForAuditAsync(host, r => r.Count >= expected);
        Assert.Equal(expected, records.Count);
        foreach (var group in records.GroupBy(Key))
        {
            var k = int.Parse(group.Key[1..], System.Globalization.CultureInfo.InvariantCulture);
            var events = group.ToList();
            var values = events.Where(e => e.GetProperty("eventName").GetString() != "REMOVE").Select(V).ToList();
            var last = k is 4 or 5 ? rounds : rounds - 1;
            Assert.Equal(Enumerable.Range(0, last + 1), values);
            Assert.Equal("INSERT", events[0].GetProperty("eventName").GetString());
            Assert.Equal(k < 4 ? "REMOVE" : "MODIFY", events[^1].GetProperty("eventName").GetString());
            var sequence = events.Select(e => e.GetProperty("dynamodb").GetProperty("SequenceNumber").GetString()).ToList();
            Assert.Equal(sequence.Order(StringComparer.Ordinal), sequence);
            Assert.All(events, e => Assert.StartsWith("arn:aws:dynamodb:us-east-1:000000000000:table/Orders/stream/", e.GetProperty("eventSourceARN").GetString()));
        }
    }

    [Fact]
    public async Task Trigger_FilterCriteria_SendsOnlyMatchingRecords()
    {
        const string filter = """[{"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":[{"prefix":"keep"}]}}}},{"dynamodb":{"NewImage":{"n":{"N":[{"numeric":[">=",100]}]}}}}]""";
        await using var host = await StartAsync("filter", [("FilterCriteria", filter)]);
        using var client = host.CreateClient();
        await CreateStreamTableAsync(client, "Filtered");

        await PutAsync(client, "Filtered", "a", 0, kind: "keep-1");     // INSERT, kind keep…: pattern 1
        await PutAsync(client, "Filtered", "b", 0, kind: "drop");       // neither
        await PutAsync(client, "Filtered", "a", 5, kind: "keep-1");     // MODIFY, n = 5: neither
        await PutAsync(client, "Filtered", "c", 150, kind: "other");    // n >= 100: pattern 2
        await PutAsync(client, "Filtered", "d", 99);                    // neither
        await client.DeleteItemAsync("Filtered", new Dictionary<string, AttributeValue> { ["pk"] = new("c") }); // no new image
        await PutAsync(client, "Filtered", "e", 1, kind: "keep-end");   // pattern 1; the last change, so all else was seen

        var records = await WaitForAuditAsync(host, r => r.Any(x => Key(x) == "e"));
        Assert.Equal(["a", "c", "e"], records.Select(Key));
        Assert.All(records, r => Assert.Equal("INSERT", r.GetProperty("eventName").GetString()));
    }

    [Fact]
    public async Task Trigger_FailingHandler_IsRetriedThenItsBatchGoesToTheOnFailureQueue()
    {
        var failed = "failed-" + Guid.NewGuid().ToString("N")[..8];
        await using var host = await StartAsync("retry",
            [("BatchSize", "1"), ("RetryAttempts", "2"), ("OnFailureQueue", failed)],
            env: ("AuditLog__RejectAttribute", "poison"));
        using var client = host.CreateClient();
        await CreateStreamTableAsync(client, "Payments");

        await PutAsync(client, "Payments", "ok1", 1);
        await client.PutItemAsync("Payments", new Dictionary<string, AttributeValue> { ["pk"] = new("bad"), ["poison"] = new() { BOOL = true } });
        await PutAsync(client, "Payments", "ok2", 2);

        var queue = new QueueClient(fixture.Azurite.ConnectionString, failed, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string? moved = null;
        while (moved == null && DateTime.UtcNow < deadline)
        {
            if (await queue.ExistsAsync())
            {
                var peeked = (await queue.PeekMessagesAsync(10)).Value;
                if (peeked.Length > 0) moved = peeked.Single().Body.ToString();
            }

            if (moved == null) await Task.Delay(100);
        }

        Assert.True(moved != null, "Nothing reached the on-failure queue.\n" + host.Output);
        using (var batch = JsonDocument.Parse(moved!))
            Assert.Equal("bad", Key(batch.RootElement.GetProperty("Records").EnumerateArray().Single()));
        Assert.Contains("(attempt 3 of 3)", host.Output);
        Assert.DoesNotContain("(attempt 4 of", host.Output);

        var records = await WaitForAuditAsync(host, r => r.Any(x => Key(x) == "ok2"));
        Assert.Equal(["ok1", "ok2"], records.Select(Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Trigger_HostKilledMidStream_LosesNoChangeAfterRestart()
    {
        await using var host = await StartAsync("crash", [("BatchSize", "1")]);
        using (var client = host.CreateClient())
        {
            await CreateStreamTableAsync(client, "Events");
            for (var i = 0; i < 300; i += 10)
                await Task.WhenAll(Enumerable.Range(i, 10).Select(k => PutAsync(client, "Events", $"e{k:D3}", k)));
        }

        var before = await WaitForAuditAsync(host, r => r.Count >= 40);
        await host.KillAsync();
        var atKill = ReadAudit(host).Count;

        await host.RestartAsync();
        using (var client = host.CreateClient())
        {
            for (var k = 300; k < 320; k++) await PutAsync(client, "Events", $"e{k:D3}", k);
        }

        var records = await WaitForAuditAsync(host, r => r.Select(Key).Distinct().Count() >= 320, TimeSpan.FromSeconds(90));
        Assert.True(atKill < 300, $"The stream was fully delivered before the kill ({atKill} records); nothing was tested.");
        Assert.Equal(Enumerable.Range(0, 320).Select(k => $"e{k:D3}"), records.Select(Key).Distinct().Order(StringComparer.Ordinal));
        // At least once: the batch whose checkpoint the kill prevented, and the message being handled, may repeat.
        Assert.InRange(records.Count - 320, 0, 2);
        Assert.NotEmpty(before);
    }

    private Task<HostProcess> StartAsync(string test, (string Name, string Value)[] mapping, (string Name, string Value)? env = null) =>
        StartTriggerHostAsync(test, mapping, env, fixture.Azurite.ConnectionString);

    /// <summary>A host whose AuditLog function reads a fresh queue that one mapping (for any table) delivers to.</summary>
    internal static Task<HostProcess> StartTriggerHostAsync(string test, (string Name, string Value)[] mapping, (string Name, string Value)? env, string? storage)
    {
        var queue = $"audit-{test}-{Guid.NewGuid().ToString("N")[..8]}";
        var environment = new Dictionary<string, string>
        {
            ["AuditLogQueue"] = queue,
            ["Triggers__0__Queue"] = queue,
            ["Triggers__0__Table"] = test switch { "order" => "Orders", "filter" => "Filtered", "retry" => "Payments", "crash" => "Events", _ => "Items" },
            ["LocalHost__QueueLeaseSeconds"] = "3",
        };
        if (storage != null)
        {
            // The store lives in blob storage too: a container of its own per host, and a restart after SIGKILL
            // waits (as a standby) for the killed instance's lease to run out.
            environment["AzureWebJobsStorage"] = storage;
            environment["Engine__Blob__Container"] = $"store-{test}-{Guid.NewGuid().ToString("N")[..8]}";
            environment["Engine__Blob__LeaseSeconds"] = "15";
            environment["Engine__Blob__Standby"] = "true";
        }

        foreach (var (name, value) in mapping) environment[$"Triggers__0__{name}"] = value;
        if (env is { } e) environment[e.Name] = e.Value;
        return HostProcess.StartAsync(new HostProcessOptions { Environment = environment });
    }

    internal static async Task CreateStreamTableAsync(AmazonDynamoDBClient client, string name) =>
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
            StreamSpecification = new StreamSpecification { StreamEnabled = true, StreamViewType = StreamViewType.NEW_AND_OLD_IMAGES },
        });

    internal static Task PutAsync(AmazonDynamoDBClient client, string table, string key, int v, string? kind = null)
    {
        var item = Item(key, v);
        if (kind != null) item["kind"] = new AttributeValue(kind);
        return client.PutItemAsync(table, item);
    }

    private static Dictionary<string, AttributeValue> Item(string key, int v) => new()
    {
        ["pk"] = new AttributeValue(key),
        ["n"] = new AttributeValue { N = v.ToString(System.Globalization.CultureInfo.InvariantCulture) },
    };

    internal static string Key(JsonElement record) => record.GetProperty("dynamodb").GetProperty("Keys").GetProperty("pk").GetProperty("S").GetString()!;

    private static int V(JsonElement record) =>
        int.Parse(record.GetProperty("dynamodb").GetProperty("NewImage").GetProperty("n").GetProperty("N").GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The audit file's complete lines (a line being appended is left for the next read).</summary>
    internal static List<JsonElement> ReadAudit(HostProcess host)
    {
        var path = Path.Combine(host.DataDirectory, "audit", "audit.log");
        if (!File.Exists(path)) return [];
        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream))
            text = reader.ReadToEnd();
        var complete = text[..(text.LastIndexOf('\n') + 1)];
        return [.. complete.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }

    internal static async Task<List<JsonElement>> WaitForAuditAsync(HostProcess host, Func<List<JsonElement>, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var records = ReadAudit(host);
            if (done(records)) return records;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"The handler received {records.Count} records, not what was expected, in time.\n{host.Output}");
            await Task.Delay(20);
        }
    }
}
