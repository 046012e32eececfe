using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.Infrastructure.ApiAssert;

namespace Serverless.IntegrationTests.StreamsInMemory;

/// <summary>
/// Streams, point-in-time recovery and the log's bounds of a memory-only host (<c>--in-memory</c>), which keeps
/// its change log in RAM: the whole boto3 streams suite, the size cap, and PITR through AWSSDK.DynamoDBv2.
/// </summary>
public sealed class InMemoryStreamsTests
{
    private const long CapBytes = 16L * 1024 * 1024; // 1 MiB segments

    private static HostProcessOptions MemoryHost(bool clock = false) => new()
    {
        InMemory = true,
        Environment = new Dictionary<string, string>
        {
            ["Engine__InMemoryLogBytes"] = CapBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["LocalHost__ClockControl"] = clock ? "true" : "false",
        },
    };

    private static string[] LogFolders(int pid) =>
        Directory.Exists("/dev/shm") ? Directory.GetDirectories("/dev/shm", $"serverless-dynamo-log-{pid}-*") : [];

    [Fact]
    public async Task StreamsApi_InMemory_ThroughBoto3()
    {
        // The same suite as the data-directory host: view types, iterators, shard roll-over, disable and re-enable,
        // TTL removes, transactions, iterator expiry and 24-hour trimming with the adjustable clock.
        await using var host = await HostProcess.StartAsync(MemoryHost(clock: true));
        var output = await PythonScript.RunAsync("streams_test.py", host);
        Assert.Contains("OK", output);
        Assert.Contains("test_shard_rollover", output);
        Assert.Contains("test_zz_iterator_expiry_and_trimming_with_the_clock", output);
    }

    [Fact]
    public async Task InMemoryLog_KeepsOnlyItsCap_AndLeavesNothingBehind()
    {
        var host = await HostProcess.StartAsync(MemoryHost());
        int pid;
        try
        {
            pid = host.ProcessId;
            var output = await PythonScript.RunAsync("streams_memory_cap.py", host);
            Assert.Contains("OK", output);
            if (Directory.Exists("/dev/shm"))
            {
                // The log lives in RAM (tmpfs), within its cap plus the open segment's mapping.
                var folder = Assert.Single(LogFolders(pid));
                var bytes = Directory.GetFiles(folder, "*.log", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
                Assert.InRange(bytes, 1, CapBytes + 3 * 1024 * 1024);
            }
        }
        finally
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }

        Assert.Empty(LogFolders(pid));
    }

    [Fact]
    public async Task InMemory_StreamsAndPointInTimeRestore_ThroughSdk()
    {
        await using var host = await HostProcess.StartAsync(MemoryHost());
        using var client = host.CreateClient();
        var table = NewName("mem");
        var created = await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table, BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [new("pk", KeyType.HASH)],
            AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
            StreamSpecification = new StreamSpecification { StreamEnabled = true, StreamViewType = StreamViewType.NEW_AND_OLD_IMAGES },
        });
        Assert.NotNull(created.TableDescription.LatestStreamArn);
        Assert.Equal(StreamViewType.NEW_AND_OLD_IMAGES, (await client.DescribeTableAsync(table)).Table.StreamSpecification.StreamViewType);

        var pitr = await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest
        {
            TableName = table, PointInTimeRecoverySpecification = new() { PointInTimeRecoveryEnabled = true },
        });
        Assert.Equal(PointInTimeRecoveryStatus.ENABLED, pitr.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus);

        await Task.Delay(1100);
        await client.PutItemAsync(table, new() { ["pk"] = S("a"), ["v"] = N("1") });
        await client.PutItemAsync(table, new() { ["pk"] = S("b"), ["v"] = N("1") });
        await Task.Delay(1100);
        var point = DateTime.UtcNow;
        await Task.Delay(1100);
        await client.PutItemAsync(table, new() { ["pk"] = S("a"), ["v"] = N("2") });
        await client.DeleteItemAsync(table, new() { ["pk"] = S("b") });
        await client.PutItemAsync(table, new() { ["pk"] = S("c"), ["v"] = N("1") });

        var described = await client.DescribeContinuousBackupsAsync(new DescribeContinuousBackupsRequest { TableName = table });
        Assert.True(described.ContinuousBackupsDescription.PointInTimeRecoveryDescription.EarliestRestorableDateTime <= point);

        var target = table + "-at";
        await client.RestoreTableToPointInTimeAsync(new RestoreTableToPointInTimeRequest { SourceTableName = table, TargetTableName = target, RestoreDateTime = point });
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await client.DescribeTableAsync(target)).Table.TableStatus != TableStatus.ACTIVE)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{target} did not become ACTIVE");
            await Task.Delay(100);
        }

        var items = await ScanAllAsync(client, new ScanRequest { TableName = target, ConsistentRead = true });
        Assert.Equal("a=1 b=1", string.Join(" ", items.Select(i => $"{i["pk"].S}={i["v"].N}").Order(StringComparer.Ordinal)));
    }
}
