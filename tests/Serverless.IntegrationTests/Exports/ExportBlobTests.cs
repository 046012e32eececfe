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
}
