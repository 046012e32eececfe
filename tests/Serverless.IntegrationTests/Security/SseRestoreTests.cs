using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Security;

/// <summary>
/// SSESpecificationOverride on RestoreTableFromBackup and RestoreTableToPointInTime: the restored table has the
/// override's key in DescribeTable's SSEDescription; without one it has the AWS owned key (no SSEDescription), as a
/// restore from a DynamoDB backup has on AWS; a bad override gets the same errors as SSESpecification.
/// </summary>
public sealed class SseRestoreTests
{
    private const string KeyId = "7d1f2a3b-0c4d-4e5f-8a9b-0c1d2e3f4a5b";
    private const string KeyArn = "arn:aws:kms:us-east-1:000000000000:key/" + KeyId;

    [Fact]
    public async Task Restores_HonourSseSpecificationOverride_AndShowItInDescribeTable()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["Encryption__KmsKeys__0__Id"] = KeyId, ["Encryption__KmsKeys__0__Alias"] = "alias/restores" },
        });
        using var client = host.CreateClient();
        var source = NewName("ssesrc");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = source, BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [new("pk", KeyType.HASH)], AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
            SSESpecification = new SSESpecification { Enabled = true }, // the AWS managed key
        });
        await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest { TableName = source, PointInTimeRecoverySpecification = new() { PointInTimeRecoveryEnabled = true } });
        await client.PutItemAsync(source, new() { ["pk"] = S("a"), ["v"] = S("1") });
        var backup = (await client.CreateBackupAsync(new CreateBackupRequest { TableName = source, BackupName = "sse" })).BackupDetails.BackupArn;

        // From a backup, with a configured key named by its alias.
        var fromBackup = NewName("ssebak");
        var restored = await client.RestoreTableFromBackupAsync(new RestoreTableFromBackupRequest
        {
            TargetTableName = fromBackup, BackupArn = backup,
            SSESpecificationOverride = new SSESpecification { Enabled = true, SSEType = SSEType.KMS, KMSMasterKeyId = "alias/restores" },
        });
        Assert.Equal(KeyArn, restored.TableDescription.SSEDescription.KMSMasterKeyArn);
        var described = (await WaitActiveAsync(client, fromBackup)).SSEDescription;
        Assert.Equal(("ENABLED", "KMS", KeyArn), (described.Status.Value, described.SSEType.Value, described.KMSMasterKeyArn));
        Assert.Equal("1", (await client.GetItemAsync(fromBackup, new() { ["pk"] = S("a") })).Item["v"].S);

        // Without an override: the AWS owned key, whatever the source had.
        var plain = NewName("sseplain");
        await client.RestoreTableFromBackupAsync(new RestoreTableFromBackupRequest { TargetTableName = plain, BackupArn = backup });
        Assert.Null((await WaitActiveAsync(client, plain)).SSEDescription);

        // To a point in time, with the managed key; the setting survives a restart (it is in the catalog). The latest
        // restorable time trails the present by a second, so wait until the window holds one.
        var window = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var recovery = (await client.DescribeContinuousBackupsAsync(new DescribeContinuousBackupsRequest { TableName = source }))
                .ContinuousBackupsDescription.PointInTimeRecoveryDescription;
            if (recovery.LatestRestorableDateTime > recovery.EarliestRestorableDateTime) break; // both to the second
            Assert.True(DateTime.UtcNow < window, "the restore window never opened");
            await Task.Delay(200);
        }

        var pitr = NewName("ssepitr");
        var atPoint = await client.RestoreTableToPointInTimeAsync(new RestoreTableToPointInTimeRequest
        {
            SourceTableName = source, TargetTableName = pitr, UseLatestRestorableTime = true,
            SSESpecificationOverride = new SSESpecification { Enabled = true, SSEType = SSEType.KMS, KMSMasterKeyId = KeyArn },
        });
        Assert.Equal(KeyArn, atPoint.TableDescription.SSEDescription.KMSMasterKeyArn);
        await WaitActiveAsync(client, pitr);
        await host.RestartAsync();
        using var again = host.CreateClient();
        Assert.Equal(KeyArn, (await again.DescribeTableAsync(pitr)).Table.SSEDescription.KMSMasterKeyArn);
        Assert.Equal(KeyArn, (await again.DescribeTableAsync(fromBackup)).Table.SSEDescription.KMSMasterKeyArn);

        // A bad override: the SSESpecification errors, and no table.
        var refused = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => again.RestoreTableFromBackupAsync(new RestoreTableFromBackupRequest
        {
            TargetTableName = NewName("ssebad"), BackupArn = backup,
            SSESpecificationOverride = new SSESpecification { Enabled = true, SSEType = SSEType.KMS, KMSMasterKeyId = "alias/nope" },
        }));
        Assert.Equal("ValidationException", refused.ErrorCode);
        Assert.Equal(
            "KMS validation error: com.amazonaws.services.kms.model.NotFoundException: Key 'arn:aws:kms:us-east-1:000000000000:alias/nope' does not exist (Service: AWSKMS; Status Code: 400; Error Code: NotFoundException)",
            refused.Message);
        var aes = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => again.RestoreTableFromBackupAsync(new RestoreTableFromBackupRequest
        {
            TargetTableName = NewName("sseaes"), BackupArn = backup, SSESpecificationOverride = new SSESpecification { Enabled = true, SSEType = SSEType.AES256 },
        }));
        Assert.Equal("One or more parameter values were invalid: SSEType AES256 is not supported", aes.Message);
        var names = (await again.ListTablesAsync()).TableNames;
        Assert.DoesNotContain(names, n => n.StartsWith("ssebad", StringComparison.Ordinal) || n.StartsWith("sseaes", StringComparison.Ordinal));
    }

    private static async Task<TableDescription> WaitActiveAsync(IAmazonDynamoDB client, string table)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var d = (await client.DescribeTableAsync(table)).Table;
            if (d.TableStatus == TableStatus.ACTIVE) return d;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{table} is still {d.TableStatus}");
            await Task.Delay(100);
        }
    }
}
