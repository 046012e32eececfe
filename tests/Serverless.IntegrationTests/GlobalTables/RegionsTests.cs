using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.GlobalTables;

/// <summary>One local host serving several regions (<c>LocalHost__Regions</c>): one engine and store per region.</summary>
public sealed class RegionsTests
{
    [Fact]
    public async Task Regions_EachRegionHasItsOwnTablesAndStore_ChosenBySigV4Region()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["LocalHost__Regions"] = "us-east-1,eu-west-1" },
        });
        using var east = host.CreateClient();
        using var west = host.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        var created = await east.CreateTableAsync(Schema("only-east"));
        Assert.Equal("arn:aws:dynamodb:us-east-1:000000000000:table/only-east", created.TableDescription.TableArn);
        await east.PutItemAsync("only-east", new Dictionary<string, AttributeValue> { ["pk"] = new() { S = "a" } });

        Assert.Contains("only-east", (await east.ListTablesAsync()).TableNames);
        Assert.DoesNotContain("only-east", (await west.ListTablesAsync()).TableNames);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => west.DescribeTableAsync("only-east"));

        // The same name in the other region is another table, with its own ARN and items.
        var westTable = await west.CreateTableAsync(Schema("only-east"));
        Assert.Equal("arn:aws:dynamodb:eu-west-1:000000000000:table/only-east", westTable.TableDescription.TableArn);
        Assert.Equal(0, (await west.ScanAsync(new ScanRequest("only-east"))).Count);
        Assert.Equal(1, (await east.ScanAsync(new ScanRequest("only-east"))).Count);
        Assert.True(Directory.Exists(Path.Combine(host.DataDirectory, "us-east-1")));
        Assert.True(Directory.Exists(Path.Combine(host.DataDirectory, "eu-west-1")));

        // Each region's store survives a restart on its own.
        await host.StopAsync();
        await host.RestartAsync();
        using var east2 = host.CreateClient();
        Assert.Equal(1, (await east2.ScanAsync(new ScanRequest("only-east"))).Count);
    }

    internal static CreateTableRequest Schema(string name) => new()
    {
        TableName = name,
        BillingMode = BillingMode.PAY_PER_REQUEST,
        KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
        AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
    };
}
