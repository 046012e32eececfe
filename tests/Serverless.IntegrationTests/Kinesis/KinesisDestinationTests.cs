using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Kinesis;

/// <summary>
/// Kinesis Data Streams for DynamoDB: the destination operations through AWSSDK.DynamoDBv2, the records read back
/// through boto3's kinesis client (<c>kinesis_tool.py</c>), retention with the host's adjustable clock, and a SIGKILL
/// in the middle of delivery. The Kinesis API itself is covered by <c>kinesis_test.py</c> (<see cref="KinesisApiTests"/>).
/// </summary>
public sealed class KinesisDestinationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Destination_DeliversEveryChangeInOrderPerItem_KeepsThemForAYear_AndStopsWhenDisabled()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["LocalHost__ClockControl"] = "true", ["TtlSweepSchedule"] = "*/1 * * * * *" },
        });
        using var ddb = host.CreateClient();
        var streamArn = await KinesisTool.CreateStreamAsync(host, "orders-cdc", shards: 3, retentionHours: 8760);
        var shortArn = await KinesisTool.CreateStreamAsync(host, "short-lived", shards: 1);
        await KinesisTool.RunAsync(host, "put short-lived 5");

        var table = await ddb.CreateTableAsync(new CreateTableRequest
        {
            TableName = "Orders",
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S), new AttributeDefinition("sk", ScalarAttributeType.N)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
            StreamSpecification = new StreamSpecification { StreamEnabled = true, StreamViewType = StreamViewType.NEW_AND_OLD_IMAGES },
        });

        // AWS's errors: unknown table, unknown stream, a second enable of the same stream, a disable of nothing.
        var noTable = await Assert.ThrowsAsync<ResourceNotFoundException>(() => ddb.EnableKinesisStreamingDestinationAsync(new EnableKinesisStreamingDestinationRequest { TableName = "NoSuchTable", StreamArn = streamArn }));
        Assert.Equal("Requested resource not found: Table: NoSuchTable not found", noTable.Message);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => ddb.EnableKinesisStreamingDestinationAsync(new EnableKinesisStreamingDestinationRequest { TableName = "Orders", StreamArn = streamArn.Replace("orders-cdc", "missing-stream") }));
        await Assert.ThrowsAsync<AmazonDynamoDBException>(() => ddb.DisableKinesisStreamingDestinationAsync(new DisableKinesisStreamingDestinationRequest { TableName = "Orders", StreamArn = streamArn }));

        var enabled = await ddb.EnableKinesisStreamingDestinationAsync(new EnableKinesisStreamingDestinationRequest
        {
            TableName = "Orders",
            StreamArn = streamArn,
            EnableKinesisStreamingConfiguration = new EnableKinesisStreamingConfiguration { ApproximateCreationDateTimePrecision = ApproximateCreationDateTimePrecision.MICROSECOND },
        });
        Assert.Equal(DestinationStatus.ENABLING, enabled.DestinationStatus);
        Assert.Equal(ApproximateCreationDateTimePrecision.MICROSECOND, enabled.EnableKinesisStreamingConfiguration.ApproximateCreationDateTimePrecision);
        await Assert.ThrowsAsync<ResourceInUseException>(() => ddb.EnableKinesisStreamingDestinationAsync(new EnableKinesisStreamingDestinationRequest { TableName = "Orders", StreamArn = streamArn }));
        await WaitForStatusAsync(ddb, "Orders", streamArn, DestinationStatus.ACTIVE);

        // Every change type, several items interleaved: puts, updates, deletes, a batch, a transaction, a TTL delete.
        await ddb.UpdateTimeToLiveAsync(new UpdateTimeToLiveRequest { TableName = "Orders", TimeToLiveSpecification = new TimeToLiveSpecification { Enabled = true, AttributeName = "expires" } });
        var expected = new Dictionary<string, List<string>>();
        void Expect(string pk, int sk, string name)
        {
            var key = $"{pk}#{sk}";
            if (!expected.TryGetValue(key, out var list)) expected[key] = list = [];
            list.Add(name);
        }

        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                var pk = $"customer-{i}";
                if (round == 0)
                {
                    await ddb.PutItemAsync("Orders", Item(pk, 1, round));
                    Expect(pk, 1, "INSERT");
                }
                else
                {
                    await ddb.UpdateItemAsync(new UpdateItemRequest
                    {
                        TableName = "Orders", Key = Key(pk, 1), UpdateExpression = "SET version = :v",
                        ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":v"] = new() { N = round.ToString() } },
                    });
                    Expect(pk, 1, "MODIFY");
                }
            }
        }

        await ddb.BatchWriteItemAsync(new BatchWriteItemRequest
        {
            RequestItems = new Dictionary<string, List<WriteRequest>>
            {
                ["Orders"] = [new WriteRequest(new PutRequest(Item("customer-0", 2, 0))), new WriteRequest(new DeleteRequest(Key("customer-1", 1)))],
            },
        });
        Expect("customer-0", 2, "INSERT");
        Expect("customer-1", 1, "REMOVE");
        await ddb.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new TransactWriteItem { Put = new Put { TableName = "Orders", Item = Item("customer-2", 1, 9) } },
                new TransactWriteItem { Delete = new Delete { TableName = "Orders", Key = Key("customer-3", 1) } },
            ],
        });
        Expect("customer-2", 1, "MODIFY");
        Expect("customer-3", 1, "REMOVE");
        await ddb.DeleteItemAsync("Orders", Key("customer-0", 1));
        Expect("customer-0", 1, "REMOVE");
        var expiring = Item("customer-9", 1, 0);
        expiring["expires"] = new AttributeValue { N = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60).ToString() };
        await ddb.PutItemAsync("Orders", expiring);
        Expect("customer-9", 1, "INSERT");
        Expect("customer-9", 1, "REMOVE");
        var total = expected.Values.Sum(l => l.Count);

        var records = await KinesisTool.WaitForAsync(host, "orders-cdc", r => r.Count >= total, Patience, $"{total} change records");
        Assert.Equal(total, records.Count); // nothing duplicated on an undisturbed run
        var byItem = new Dictionary<string, List<(DumpedRecord Record, JsonElement Body)>>();
        foreach (var r in records)
        {
            var body = r.Json;
            Assert.Equal("us-east-1", body.GetProperty("awsRegion").GetString());
            Assert.Equal("application/json", body.GetProperty("recordFormat").GetString());
            Assert.Equal("Orders", body.GetProperty("tableName").GetString());
            Assert.Equal("aws:dynamodb", body.GetProperty("eventSource").GetString());
            Assert.True(Guid.TryParse(body.GetProperty("eventID").GetString(), out _));
            var dynamodb = body.GetProperty("dynamodb");
            Assert.Equal("MICROSECOND", dynamodb.GetProperty("ApproximateCreationDateTimePrecision").GetString());
            var micros = dynamodb.GetProperty("ApproximateCreationDateTime").GetInt64();
            Assert.InRange(micros, DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeMilliseconds() * 1000, DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeMilliseconds() * 1000);
            Assert.True(dynamodb.GetProperty("SizeBytes").GetInt32() > 0);
            var keys = dynamodb.GetProperty("Keys");
            var item = $"{keys.GetProperty("pk").GetProperty("S").GetString()}#{keys.GetProperty("sk").GetProperty("N").GetString()}";
            var eventName = body.GetProperty("eventName").GetString();
            Assert.Equal(eventName != "INSERT", dynamodb.TryGetProperty("OldImage", out _));
            Assert.Equal(eventName != "REMOVE", dynamodb.TryGetProperty("NewImage", out _));
            if (!byItem.TryGetValue(item, out var list)) byItem[item] = list = [];
            list.Add((r, body));
        }

        Assert.Equal(expected.Keys.Order(), byItem.Keys.Order());
        foreach (var (item, names) in expected)
        {
            var got = byItem[item];
            // One item's records share a partition key, hence a shard, and come in the order of its changes.
            Assert.Single(got.Select(g => g.Record.PartitionKey).Distinct());
            Assert.Equal(names, got.Select(g => g.Body.GetProperty("eventName").GetString()));
            Assert.Equal(got.Select(g => System.Numerics.BigInteger.Parse(g.Record.SequenceNumber)).Order(), got.Select(g => System.Numerics.BigInteger.Parse(g.Record.SequenceNumber)));
        }

        var versions = byItem["customer-2#1"].Select(g => g.Body.GetProperty("dynamodb").TryGetProperty("NewImage", out var n) ? n.GetProperty("version").GetProperty("N").GetString() : null);
        Assert.Equal(["0", "1", "2", "9"], versions);
        var ttlDelete = byItem["customer-9#1"][^1].Body.GetProperty("userIdentity");
        Assert.Equal("Service", ttlDelete.GetProperty("type").GetString());
        Assert.Equal("dynamodb.amazonaws.com", ttlDelete.GetProperty("principalId").GetString());
        Assert.Equal(JsonValueKind.Null, byItem["customer-0#1"][^1].Body.GetProperty("userIdentity").ValueKind);
        Assert.True(records.Select(r => r.Shard).Distinct().Count() > 1, "items spread over the shards");

        // Millisecond precision from now on.
        var updated = await ddb.UpdateKinesisStreamingDestinationAsync(new UpdateKinesisStreamingDestinationRequest
        {
            TableName = "Orders", StreamArn = streamArn,
            UpdateKinesisStreamingConfiguration = new UpdateKinesisStreamingConfiguration { ApproximateCreationDateTimePrecision = ApproximateCreationDateTimePrecision.MILLISECOND },
        });
        Assert.Equal(DestinationStatus.UPDATING, updated.DestinationStatus);
        await WaitForStatusAsync(ddb, "Orders", streamArn, DestinationStatus.ACTIVE);
        await ddb.PutItemAsync("Orders", Item("customer-7", 1, 0));
        records = await KinesisTool.WaitForAsync(host, "orders-cdc", r => r.Count > total, Patience, "the record after the update");
        var last = records.Single(r => r.Json.GetProperty("dynamodb").GetProperty("Keys").GetProperty("pk").GetProperty("S").GetString() == "customer-7").Json.GetProperty("dynamodb");
        Assert.Equal("MILLISECOND", last.GetProperty("ApproximateCreationDateTimePrecision").GetString());
        Assert.InRange(last.GetProperty("ApproximateCreationDateTime").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeMilliseconds());
        total++;

        // Thirty days on: the DynamoDB stream has trimmed everything (24 hours), the 365-day Kinesis stream still has it
        // all after the retention function ran, and the 24-hour Kinesis stream is empty.
        var dynamoStreamArn = table.TableDescription.LatestStreamArn;
        Assert.True(await KinesisTool.DynamoDbStreamCountAsync(host, dynamoStreamArn) >= total);
        await host.AdvanceClockAsync(TimeSpan.FromDays(30));
        using (var run = await host.SendAdminAsync(HttpMethod.Post, "/admin/functions/KinesisRetention")) run.EnsureSuccessStatusCode();
        Assert.Equal(0, await KinesisTool.DynamoDbStreamCountAsync(host, dynamoStreamArn));
        Assert.Equal(total, (await KinesisTool.DumpAsync(host, "orders-cdc")).Count);
        Assert.Empty(await KinesisTool.DumpAsync(host, "short-lived"));
        Assert.NotNull(shortArn);

        // Disable: DISABLING, then DISABLED once everything before it is delivered; later changes are not delivered.
        var disabled = await ddb.DisableKinesisStreamingDestinationAsync(new DisableKinesisStreamingDestinationRequest { TableName = "Orders", StreamArn = streamArn });
        Assert.Equal(DestinationStatus.DISABLING, disabled.DestinationStatus);
        await WaitForStatusAsync(ddb, "Orders", streamArn, DestinationStatus.DISABLED);
        await ddb.PutItemAsync("Orders", Item("after-disable", 1, 0));
        // A second destination enabled after that write sees only what follows it; once its record arrives, delivery
        // has passed the earlier write, which the disabled destination did not receive.
        var probeArn = await KinesisTool.CreateStreamAsync(host, "probe", shards: 1);
        await ddb.EnableKinesisStreamingDestinationAsync(new EnableKinesisStreamingDestinationRequest { TableName = "Orders", StreamArn = probeArn });
        await WaitForStatusAsync(ddb, "Orders", probeArn, DestinationStatus.ACTIVE);
        await ddb.PutItemAsync("Orders", Item("probe", 1, 0));
        var probe = await KinesisTool.WaitForAsync(host, "probe", r => r.Count >= 1, Patience, "the probe record");
        Assert.Equal("probe", Assert.Single(probe).Json.GetProperty("dynamodb").GetProperty("Keys").GetProperty("pk").GetProperty("S").GetString());
        Assert.Equal(total, (await KinesisTool.DumpAsync(host, "orders-cdc")).Count);
        var described = await ddb.DescribeKinesisStreamingDestinationAsync(new DescribeKinesisStreamingDestinationRequest { TableName = "Orders" });
        Assert.Equal([DestinationStatus.DISABLED, DestinationStatus.ACTIVE], described.KinesisDataStreamDestinations.Select(d => d.DestinationStatus));
    }

    [Fact]
    public async Task SigkillDuringDelivery_LosesNoChange_AndAcknowledgedPutRecordsSurvive()
    {
        await using var host = await HostProcess.StartAsync();
        using (var ddb = host.CreateClient())
        {
            var arn = await KinesisTool.CreateStreamAsync(host, "crash-cdc", shards: 2);
            await KinesisTool.CreateStreamAsync(host, "crash-direct", shards: 1);
            await ddb.CreateTableAsync(new CreateTableRequest
            {
                TableName = "Crash",
                KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
                AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
                BillingMode = BillingMode.PAY_PER_REQUEST,
            });
            await ddb.EnableKinesisStreamingDestinationAsync(new EnableKinesisStreamingDestinationRequest { TableName = "Crash", StreamArn = arn });
            await WaitForStatusAsync(ddb, "Crash", arn, DestinationStatus.ACTIVE);
        }

        var putOutput = await KinesisTool.RunAsync(host, "put crash-direct 50");
        var acknowledgedPuts = putOutput.Split('\n').Count(l => l.StartsWith("ACK ", StringComparison.Ordinal));
        Assert.Equal(50, acknowledgedPuts);

        // Writers run until the kill; every write acknowledged before it must reach the stream afterwards.
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            using var client = host.CreateClient(c => c.MaxErrorRetry = 0);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var pk = $"w{w}-{i}";
                try
                {
                    await client.PutItemAsync("Crash", new Dictionary<string, AttributeValue> { ["pk"] = new() { S = pk }, ["n"] = new() { N = i.ToString() } });
                    acknowledged.Add(pk);
                }
                catch (Exception) when (stop.IsCancellationRequested || host.HasExited)
                {
                    return;
                }
                catch (Amazon.Runtime.AmazonServiceException)
                {
                    return;
                }
                catch (HttpRequestException)
                {
                    return;
                }
            }
        })).ToArray();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (acknowledged.Count < 1500 && DateTime.UtcNow < deadline) await Task.Delay(20);
        await host.KillAsync();
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Assert.True(acknowledged.Count > 100, $"only {acknowledged.Count} writes before the kill");

        await host.RestartAsync();
        var wanted = acknowledged.ToHashSet();
        var records = await KinesisTool.WaitForAsync(host, "crash-cdc", r =>
        {
            var seen = r.Select(x => x.Json.GetProperty("dynamodb").GetProperty("Keys").GetProperty("pk").GetProperty("S").GetString()!).ToHashSet();
            return wanted.IsSubsetOf(seen);
        }, TimeSpan.FromSeconds(180), $"all {wanted.Count} acknowledged writes");
        Assert.All(records, r => Assert.Equal("INSERT", r.Json.GetProperty("eventName").GetString()));
        Assert.Equal(50, (await KinesisTool.DumpAsync(host, "crash-direct")).Count);
    }

    private static Dictionary<string, AttributeValue> Key(string pk, int sk) => new() { ["pk"] = new() { S = pk }, ["sk"] = new() { N = sk.ToString() } };

    private static Dictionary<string, AttributeValue> Item(string pk, int sk, int version)
    {
        var item = Key(pk, sk);
        item["version"] = new AttributeValue { N = version.ToString() };
        return item;
    }

    private static async Task WaitForStatusAsync(IAmazonDynamoDB ddb, string table, string streamArn, DestinationStatus status)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var described = await ddb.DescribeKinesisStreamingDestinationAsync(new DescribeKinesisStreamingDestinationRequest { TableName = table });
            var destination = described.KinesisDataStreamDestinations.Single(d => d.StreamArn == streamArn);
            if (destination.DestinationStatus == status) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"destination {streamArn} is {destination.DestinationStatus}, not {status}");
            await Task.Delay(200);
        }
    }
}

/// <summary>The Kinesis Data Streams API through boto3's kinesis client: <c>kinesis_test.py</c>.</summary>
public sealed class KinesisApiTests
{
    [Fact]
    public async Task KinesisApi_ThroughBoto3()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["LocalHost__ClockControl"] = "true" },
        });
        var output = await PythonScript.RunWithPathPythonAsync("../Kinesis/kinesis_test.py", host, new Dictionary<string, string>());
        Assert.Contains("OK", output);
        Assert.Contains("test_write_limits_per_shard", output);
    }
}
