using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Azure.Storage.Blobs;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Exports;

/// <summary>With the store in blob storage (Azurite), S3Bucket names a blob container and the keys are blob names.</summary>
public sealed class ExportBlobTests
{
    [Fact]
    public async Task OnBlobStorage_ExportGoesToTheBucketsContainer_AndImportsBackFromIt()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["AzureWebJobsStorage"] = azurite.ConnectionString, ["Engine__Blob__LeaseSeconds"] = "15" },
            StartTimeout = TimeSpan.FromSeconds(90),
        });
        using var client = host.CreateClient();
        var table = await CreateAsync(client, "blobexp");
        await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest { TableName = table, PointInTimeRecoverySpecification = new() { PointInTimeRecoveryEnabled = true } });
        await Task.Delay(1100);
        for (var i = 0; i < 25; i++) await client.PutItemAsync(table, new() { ["pk"] = S($"k{i}"), ["v"] = N(i.ToString()) });
        var arn = (await client.DescribeTableAsync(table)).Table.TableArn;
        var started = await client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest { TableArn = arn, S3Bucket = "blob-bucket", S3Prefix = "x" });
        var done = await ExportFiles.WaitAsync(client, started.ExportDescription.ExportArn);
        Assert.True(done.ExportStatus == ExportStatus.COMPLETED, $"{done.FailureCode} {done.FailureMessage}");
        Assert.Equal(25, done.ItemCount);

        var container = new BlobContainerClient(azurite.ConnectionString, "blob-bucket", new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05));
        var names = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "x/AWSDynamoDB/" })) names.Add(blob.Name);
        var id = done.ExportArn.Split('/')[^1];
        Assert.Contains($"x/AWSDynamoDB/{id}/manifest-summary.json", names);
        Assert.Contains($"x/AWSDynamoDB/{id}/manifest-files.json", names);
        Assert.Contains(names, n => n.StartsWith($"x/AWSDynamoDB/{id}/data/", StringComparison.Ordinal) && n.EndsWith(".json.gz", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(host.DataDirectory, "s3")));

        var import = await client.ImportTableAsync(new ImportTableRequest
        {
            S3BucketSource = new S3BucketSource { S3Bucket = "blob-bucket", S3KeyPrefix = $"x/AWSDynamoDB/{id}/data/" },
            InputFormat = InputFormat.DYNAMODB_JSON, InputCompressionType = InputCompressionType.GZIP,
            TableCreationParameters = new TableCreationParameters
            {
                TableName = table + "-copy", BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [new("pk", KeyType.HASH)], AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
            },
        });
        var imported = await ExportFiles.WaitImportAsync(client, import.ImportTableDescription.ImportArn);
        Assert.Equal(ImportStatus.COMPLETED, imported.ImportStatus);
        Assert.Equal(25, imported.ImportedItemCount);
        Assert.Equal("12", (await client.GetItemAsync(table + "-copy", new() { ["pk"] = S("k12") })).Item["v"].N);
    }

    [Fact]
    public async Task FreshInstance_OnTheSameContainer_ListsAndDescribesEarlierExportsAndImports()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var storage = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString, ["Engine__Blob__LeaseSeconds"] = "15", ["Engine__Blob__Standby"] = "true",
        };
        string table, exportArn, importArn;
        await using (var first = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage, StartTimeout = TimeSpan.FromSeconds(90) }))
        {
            using var client = first.CreateClient();
            table = await CreateAsync(client, "jobrec");
            await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest { TableName = table, PointInTimeRecoverySpecification = new() { PointInTimeRecoveryEnabled = true } });
            await Task.Delay(1100);
            for (var i = 0; i < 12; i++) await client.PutItemAsync(table, new() { ["pk"] = S($"k{i}"), ["v"] = N(i.ToString()) });
            var arn = (await client.DescribeTableAsync(table)).Table.TableArn;
            exportArn = (await client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest { TableArn = arn, S3Bucket = "jobs-bucket", S3Prefix = "p" })).ExportDescription.ExportArn;
            var done = await ExportFiles.WaitAsync(client, exportArn);
            Assert.True(done.ExportStatus == ExportStatus.COMPLETED, $"{done.FailureCode} {done.FailureMessage}");
            var id = exportArn.Split('/')[^1];
            importArn = (await client.ImportTableAsync(new ImportTableRequest
            {
                S3BucketSource = new S3BucketSource { S3Bucket = "jobs-bucket", S3KeyPrefix = $"p/AWSDynamoDB/{id}/data/" },
                InputFormat = InputFormat.DYNAMODB_JSON, InputCompressionType = InputCompressionType.GZIP,
                TableCreationParameters = new TableCreationParameters
                {
                    TableName = table + "-copy", BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [new("pk", KeyType.HASH)], AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
                },
            })).ImportTableDescription.ImportArn;
            Assert.Equal(ImportStatus.COMPLETED, (await ExportFiles.WaitImportAsync(client, importArn)).ImportStatus);

            // The records in blob storage are sealed like everything else the engine writes there.
            var store = new BlobContainerClient(azurite.ConnectionString, "ddb-store", new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05));
            var blob = (await store.GetBlobClient($"jobs/exports/{id}.json").DownloadContentAsync()).Value.Content.ToArray();
            Assert.Equal("DDBSEAL1"u8.ToArray(), blob[..8]);
            Assert.DoesNotContain(table, System.Text.Encoding.UTF8.GetString(blob), StringComparison.Ordinal);
            await first.KillAsync();
        }

        // A new instance with an empty data directory of its own, on the same container.
        await using var second = await HostProcess.StartAsync(new HostProcessOptions { Environment = storage, StartTimeout = TimeSpan.FromSeconds(120) });
        using var after = second.CreateClient();
        var exports = await after.ListExportsAsync(new ListExportsRequest());
        Assert.Contains(exports.ExportSummaries, e => e.ExportArn == exportArn && e.ExportStatus == ExportStatus.COMPLETED);
        var described = (await after.DescribeExportAsync(new DescribeExportRequest { ExportArn = exportArn })).ExportDescription;
        Assert.Equal((ExportStatus.COMPLETED, 12L, "jobs-bucket", "p"), (described.ExportStatus, described.ItemCount ?? 0, described.S3Bucket, described.S3Prefix));
        Assert.NotNull(described.ExportManifest);
        var imports = await after.ListImportsAsync(new ListImportsRequest());
        Assert.Contains(imports.ImportSummaryList, i => i.ImportArn == importArn && i.ImportStatus == ImportStatus.COMPLETED);
        var import = (await after.DescribeImportAsync(new DescribeImportRequest { ImportArn = importArn })).ImportTableDescription;
        Assert.Equal((ImportStatus.COMPLETED, 12L, table + "-copy"), (import.ImportStatus, import.ImportedItemCount ?? 0, import.TableCreationParameters.TableName));
        Assert.True(File.Exists(Path.Combine(second.DataDirectory, "exports", exportArn.Split('/')[^1] + ".json")));
    }
}
