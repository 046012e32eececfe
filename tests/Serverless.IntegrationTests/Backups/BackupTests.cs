using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.Infrastructure.ApiAssert;

namespace Serverless.IntegrationTests.Backups;

/// <summary>Point-in-time recovery and on-demand backups on the embedded (data directory) backend.</summary>
public sealed class BackupTests
{
    private static async Task WaitActiveAsync(IAmazonDynamoDB client, string table)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await client.DescribeTableAsync(table)).Table.TableStatus != TableStatus.ACTIVE)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{table} did not become ACTIVE");
            await Task.Delay(50);
        }
    }

    private static async Task<SortedDictionary<string, string>> ContentsAsync(IAmazonDynamoDB client, string table) =>
        new((await ScanAllAsync(client, new ScanRequest { TableName = table, ConsistentRead = true }))
            .ToDictionary(i => i["pk"].S, i => i.TryGetValue("v", out var v) ? v.N : "-"));

    private static async Task<DateTime> NextSecondAsync()
    {
        // Restore points between phases of writes, each phase in its own second.
        await Task.Delay(1100);
        var point = DateTime.UtcNow;
        await Task.Delay(1100);
        return point;
    }

    /// <summary>Azurite when <paramref name="onBlobStorage"/> (the store then lives in blob storage), else null.</summary>
    private static async Task<AzuriteProcess?> StorageAsync(bool onBlobStorage) => onBlobStorage ? await AzuriteProcess.StartAsync() : null;

    private static HostProcessOptions Options(AzuriteProcess? azurite) => new()
    {
        Environment = azurite == null ? new Dictionary<string, string>() : new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString, ["Engine__Blob__LeaseSeconds"] = "15", ["Engine__Blob__Standby"] = "true",
        },
        StartTimeout = TimeSpan.FromSeconds(90),
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PointInTimeRestore_ToSeveralMoments_ItemByItem_WithIndex(bool onBlobStorage)
    {
        await using var azurite = await StorageAsync(onBlobStorage);
        await using var host = await HostProcess.StartAsync(Options(azurite));
        using var client = host.CreateClient();
        var table = NewName("pitr");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table, BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new("pk", KeyType.HASH)],
            AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("g", ScalarAttributeType.S)],
            GlobalSecondaryIndexes = [new() { IndexName = "by-g", KeySchema = [new("g", KeyType.HASH)], Projection = new() { ProjectionType = ProjectionType.ALL } }],
        });
        await AssertThrowsAsync<PointInTimeRecoveryUnavailableException>($"Point in time recovery is not enabled for table '{table}'",
            () => client.RestoreTableToPointInTimeAsync(new RestoreTableToPointInTimeRequest { SourceTableName = table, TargetTableName = table + "-x", UseLatestRestorableTime = true }));
        var enabled = await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest
        {
            TableName = table, PointInTimeRecoverySpecification = new() { PointInTimeRecoveryEnabled = true, RecoveryPeriodInDays = 7 },
        });
        Assert.Equal(PointInTimeRecoveryStatus.ENABLED, enabled.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus);
        Assert.Equal(7, enabled.ContinuousBackupsDescription.PointInTimeRecoveryDescription.RecoveryPeriodInDays);

        async Task Put(string pk, int v) => await client.PutItemAsync(table, new() { ["pk"] = S(pk), ["v"] = N(v.ToString()), ["g"] = S("grp") });
        await Task.Delay(1100);
        await Put("a", 1);
        await Put("b", 1);
        var p1 = await NextSecondAsync();
        await client.UpdateItemAsync(new UpdateItemRequest { TableName = table, Key = Key("a"), UpdateExpression = "SET v = v + :one", ExpressionAttributeValues = new() { [":one"] = N("1") } });
        await client.DeleteItemAsync(table, Key("b"));
        await Put("c", 1);
        var p2 = await NextSecondAsync();
        await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { Put = new Put { TableName = table, Item = new() { ["pk"] = S("b"), ["v"] = N("9"), ["g"] = S("grp") } } },
                new() { Delete = new Delete { TableName = table, Key = Key("c") } },
            ],
        });
        await Put("a", 5);
        var p3 = await NextSecondAsync();
        await Put("d", 1);

        var expected = new Dictionary<DateTime, string>
        {
            [p1] = "a=1 b=1",
            [p2] = "a=2 c=1",
            [p3] = "a=5 b=9",
        };
        var n = 0;
        foreach (var (point, state) in expected)
        {
            var target = $"{table}-r{n++}";
            var restored = await client.RestoreTableToPointInTimeAsync(new RestoreTableToPointInTimeRequest
            {
                SourceTableName = table, TargetTableName = target, RestoreDateTime = point,
            });
            Assert.True(restored.TableDescription.RestoreSummary.RestoreInProgress);
            await WaitActiveAsync(client, target);
            var contents = await ContentsAsync(client, target);
            Assert.Equal(state, string.Join(" ", contents.Select(p => $"{p.Key}={p.Value}")));
            var viaIndex = await QueryAllAsync(client, new QueryRequest
            {
                TableName = target, IndexName = "by-g", KeyConditionExpression = "g = :g", ExpressionAttributeValues = new() { [":g"] = S("grp") },
            });
            Assert.Equal(contents.Count, viaIndex.Count);
        }

        var latest = await client.RestoreTableToPointInTimeAsync(new RestoreTableToPointInTimeRequest { SourceTableName = table, TargetTableName = table + "-latest", UseLatestRestorableTime = true });
        await WaitActiveAsync(client, table + "-latest");
        Assert.Equal(table, latest.TableDescription.RestoreSummary.SourceTableArn.Split('/')[^1]);
        await AssertThrowsAsync<TableAlreadyExistsException>($"Table already exists: {table}-r0",
            () => client.RestoreTableToPointInTimeAsync(new RestoreTableToPointInTimeRequest { SourceTableName = table, TargetTableName = table + "-r0", UseLatestRestorableTime = true }));
        await Assert.ThrowsAsync<InvalidRestoreTimeException>(() => client.RestoreTableToPointInTimeAsync(new RestoreTableToPointInTimeRequest
        {
            SourceTableName = table, TargetTableName = table + "-old", RestoreDateTime = DateTime.UtcNow.AddDays(-1),
        }));
        await AssertThrowsAsync<TableNotFoundException>("Table not found: absent-table",
            () => client.DescribeContinuousBackupsAsync(new DescribeContinuousBackupsRequest { TableName = "absent-table" }));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Backup_DuringConcurrentTransfers_IsConsistent_AndSurvivesRestart(bool onBlobStorage)
    {
        await using var azurite = await StorageAsync(onBlobStorage);
        await using var host = await HostProcess.StartAsync(Options(azurite));
        var client = host.CreateClient();
        var table = await CreateAsync(client, "bak");
        for (var i = 0; i < 10; i++) await client.PutItemAsync(table, new() { ["pk"] = S("acct" + i), ["v"] = N("100") });

        // Transfers keep the total at 1000; a consistent backup sees exactly that total.
        using var stop = new CancellationTokenSource();
        var transfers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                var from = random.Next(10);
                var to = (from + 1 + random.Next(9)) % 10;
                try
                {
                    await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
                    {
                        TransactItems =
                        [
                            new() { Update = new Update { TableName = table, Key = Key("acct" + from), UpdateExpression = "SET v = v - :one", ExpressionAttributeValues = new() { [":one"] = N("1") } } },
                            new() { Update = new Update { TableName = table, Key = Key("acct" + to), UpdateExpression = "SET v = v + :one", ExpressionAttributeValues = new() { [":one"] = N("1") } } },
                        ],
                    });
                }
                catch (TransactionCanceledException)
                {
                }
                catch (TransactionConflictException)
                {
                }
            }
        })).ToList();
        await Task.Delay(300);
        var backups = new List<string>();
        for (var b = 0; b < 3; b++)
        {
            var created = await client.CreateBackupAsync(new CreateBackupRequest { TableName = table, BackupName = "nightly" + b });
            Assert.Equal(BackupStatus.AVAILABLE, created.BackupDetails.BackupStatus);
            backups.Add(created.BackupDetails.BackupArn);
            await Task.Delay(100);
        }

        await stop.CancelAsync();
        await Task.WhenAll(transfers);

        var listed = await client.ListBackupsAsync(new ListBackupsRequest { TableName = table });
        Assert.Equal(backups, listed.BackupSummaries.Select(s => s.BackupArn));
        var described = await client.DescribeBackupAsync(new DescribeBackupRequest { BackupArn = backups[0] });
        Assert.Equal(10, described.BackupDescription.SourceTableDetails.ItemCount);

        client.Dispose();
        await host.KillAsync();
        await host.RestartAsync();
        using var after = host.CreateClient();
        for (var b = 0; b < backups.Count; b++)
        {
            var target = $"{table}-b{b}";
            await after.RestoreTableFromBackupAsync(new RestoreTableFromBackupRequest { BackupArn = backups[b], TargetTableName = target });
            await WaitActiveAsync(after, target);
            var contents = await ContentsAsync(after, target);
            Assert.Equal(10, contents.Count);
            Assert.Equal(1000, contents.Values.Sum(int.Parse));
        }

        var deleted = await after.DeleteBackupAsync(new DeleteBackupRequest { BackupArn = backups[0] });
        Assert.Equal(BackupStatus.DELETED, deleted.BackupDescription.BackupDetails.BackupStatus);
        await AssertThrowsAsync<BackupNotFoundException>($"Backup not found: {backups[0]}",
            () => after.DescribeBackupAsync(new DescribeBackupRequest { BackupArn = backups[0] }));
        Assert.Equal(2, (await after.ListBackupsAsync(new ListBackupsRequest { TableName = table })).BackupSummaries.Count);
    }

    [Fact]
    public async Task DeletedTableWithPitr_KeepsASystemBackup_AndScheduledBackupsKeepTheirRetention()
    {
        var table = NewName("sched");
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string>
            {
                ["LocalHost__ClockControl"] = "true", ["Backups__Tables"] = table, ["Backups__RetentionDays"] = "7",
            },
        });
        using var client = host.CreateClient();
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table, BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [new("pk", KeyType.HASH)],
            AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
        });
        for (var i = 0; i < 5; i++) await client.PutItemAsync(table, new() { ["pk"] = S("k" + i), ["v"] = N(i.ToString()) });

        // Scheduled backups: one per run; a run 8 days later deletes the first (retention 7 days).
        async Task RunScheduleAsync()
        {
            using var http = host.CreateHttpClient();
            using var response = await http.PostAsync("/admin/functions/ScheduledBackups", null);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        }

        await RunScheduleAsync();
        var first = Assert.Single((await client.ListBackupsAsync(new ListBackupsRequest { TableName = table, BackupType = BackupTypeFilter.AWS_BACKUP })).BackupSummaries);
        Assert.Equal(BackupType.AWS_BACKUP, first.BackupType);
        await host.AdvanceClockAsync(TimeSpan.FromDays(8));
        await RunScheduleAsync();
        var second = Assert.Single((await client.ListBackupsAsync(new ListBackupsRequest { TableName = table, BackupType = BackupTypeFilter.AWS_BACKUP })).BackupSummaries);
        Assert.NotEqual(first.BackupArn, second.BackupArn);

        // Deleting a table with point-in-time recovery keeps a SYSTEM backup that restores it.
        await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest
        {
            TableName = table, PointInTimeRecoverySpecification = new() { PointInTimeRecoveryEnabled = true },
        });
        var point = (await NextSecondAsync()).AddDays(8); // the host's clock runs 8 days ahead (advanced above)
        await client.PutItemAsync(table, new() { ["pk"] = S("k0"), ["v"] = N("100") });
        var arn = (await client.DescribeTableAsync(table)).Table.TableArn;
        await client.DeleteTableAsync(table);

        // Point-in-time restore of the deleted table, to a moment before its last write.
        await client.RestoreTableToPointInTimeAsync(new RestoreTableToPointInTimeRequest { SourceTableArn = arn, TargetTableName = table + "-pitr", RestoreDateTime = point });
        await WaitActiveAsync(client, table + "-pitr");
        Assert.Equal("k0=0 k1=1 k2=2 k3=3 k4=4", string.Join(" ", (await ContentsAsync(client, table + "-pitr")).Select(p => $"{p.Key}={p.Value}")));
        var system = Assert.Single((await client.ListBackupsAsync(new ListBackupsRequest { TableName = table, BackupType = BackupTypeFilter.SYSTEM })).BackupSummaries);
        Assert.Equal(table + "$DeletedTableBackup", system.BackupName);
        await client.RestoreTableFromBackupAsync(new RestoreTableFromBackupRequest { BackupArn = system.BackupArn, TargetTableName = table });
        await WaitActiveAsync(client, table);
        Assert.Equal("k0=100 k1=1 k2=2 k3=3 k4=4", string.Join(" ", (await ContentsAsync(client, table)).Select(p => $"{p.Key}={p.Value}")));
    }

    private static async Task AssertThrowsAsync<T>(string message, Func<Task> call)
        where T : AmazonDynamoDBException
    {
        var e = await Assert.ThrowsAsync<T>(call);
        Assert.Equal(message, e.Message);
    }
}
