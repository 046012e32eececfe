using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Exports;

/// <summary>A SIGKILL in the middle of an export: after the restart the export finishes (it starts over) and is never left IN_PROGRESS.</summary>
public sealed class ExportKillTests
{
    private const string Bucket = "kill-bucket";
    private const int Items = 200_000;

    [Fact]
    public async Task Sigkill_MidExport_ExportFinishesAfterRestart()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { StartTimeout = TimeSpan.FromSeconds(120) });
        var table = NewName("killexp");
        string exportArn;
        using (var client = host.CreateClient())
        {
            // A large table, loaded quickly through ImportTable from a generated file.
            var lines = new StringBuilder();
            for (var i = 0; i < Items; i++)
                lines.Append("{\"Item\":{\"pk\":{\"S\":\"k").Append(i).Append("\"},\"v\":{\"N\":\"").Append(i).Append("\"},\"pad\":{\"S\":\"").Append('x', 40).Append("\"}}}\n");
            var path = ExportFiles.ObjectPath(host, Bucket, "seed/items.json.gz");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest)) await gz.WriteAsync(Encoding.UTF8.GetBytes(lines.ToString()));
            var import = await client.ImportTableAsync(new ImportTableRequest
            {
                S3BucketSource = new S3BucketSource { S3Bucket = Bucket, S3KeyPrefix = "seed/" }, InputFormat = InputFormat.DYNAMODB_JSON,
                InputCompressionType = InputCompressionType.GZIP,
                TableCreationParameters = new TableCreationParameters
                {
                    TableName = table, BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [new("pk", KeyType.HASH)], AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
                },
            });
            var imported = await ExportFiles.WaitImportAsync(client, import.ImportTableDescription.ImportArn, TimeSpan.FromMinutes(5));
            Assert.Equal(Items, imported.ImportedItemCount);
            await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest { TableName = table, PointInTimeRecoverySpecification = new() { PointInTimeRecoveryEnabled = true } });
            await Task.Delay(1100);
            var arn = (await client.DescribeTableAsync(table)).Table.TableArn;
            exportArn = (await client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest { TableArn = arn, S3Bucket = Bucket, S3Prefix = "out" }))
                .ExportDescription.ExportArn;
        }

        await host.KillAsync();
        var id = exportArn.Split('/')[^1];
        // The record is on disk (sealed with the store's data key, so only its header is recognisable) before the kill.
        Assert.Equal("DDBSEAL1"u8.ToArray(), File.ReadAllBytes(Path.Combine(host.DataDirectory, "exports", id + ".json"))[..8]);

        await host.RestartAsync();
        using var after = host.CreateClient();
        var done = await ExportFiles.WaitAsync(after, exportArn, TimeSpan.FromMinutes(5));
        Assert.True(done.ExportStatus == ExportStatus.COMPLETED, $"{done.ExportStatus} {done.FailureCode} {done.FailureMessage}");
        Assert.Equal(Items, done.ItemCount);
        var keys = ExportFiles.VerifyAndReadLines(host, done, ".json.gz")
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("Item").GetProperty("pk").GetProperty("S").GetString()).ToHashSet();
        Assert.Equal(Items, keys.Count);
    }
}
