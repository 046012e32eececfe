using Amazon.DynamoDBv2.Model;
using Azure.Storage.Blobs;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Backends;

/// <summary>
/// <c>Engine__Blob__FromFunctionsStorage=false</c>: <c>AzureWebJobsStorage</c> (Azurite) serves the queues, and the
/// store stays in the data directory: no store container is created, and an acknowledged write survives a SIGKILL
/// from the data directory alone.
/// </summary>
public sealed class StoreLocationTests
{
    [Fact]
    public async Task FunctionsStorageForQueuesOnly_KeepsTheStoreInTheDataDirectory()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string>
            {
                ["AzureWebJobsStorage"] = azurite.ConnectionString, ["Engine__Blob__FromFunctionsStorage"] = "false",
            },
        });
        Assert.DoesNotContain("a cache of blob container", host.Output, StringComparison.Ordinal);
        Assert.Contains("(AzureStorage;", host.Output, StringComparison.Ordinal); // the queue functions poll Azurite

        using (var client = host.CreateClient())
        {
            await client.CreateTableAsync(new CreateTableRequest
            {
                TableName = "local", BillingMode = Amazon.DynamoDBv2.BillingMode.PAY_PER_REQUEST,
                KeySchema = [new KeySchemaElement("pk", Amazon.DynamoDBv2.KeyType.HASH)],
                AttributeDefinitions = [new AttributeDefinition("pk", Amazon.DynamoDBv2.ScalarAttributeType.S)],
            });
            await client.PutItemAsync("local", new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "kept" } });
        }

        var containers = new BlobServiceClient(azurite.ConnectionString).GetBlobContainers().Select(c => c.Name).ToList();
        Assert.DoesNotContain("ddb-store", containers);
        Assert.True(Directory.EnumerateFiles(host.DataDirectory, "*", SearchOption.AllDirectories).Any(), "nothing in the data directory");

        await host.KillAsync();
        await host.RestartAsync();
        using var after = host.CreateClient();
        var read = await after.GetItemAsync(new GetItemRequest("local", new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "kept" } }) { ConsistentRead = true });
        Assert.True(read.IsItemSet);
    }
}
