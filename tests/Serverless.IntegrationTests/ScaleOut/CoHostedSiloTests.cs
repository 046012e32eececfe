using System.Net;
using System.Net.Sockets;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Azure.Data.Tables;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.ScaleOut;

/// <summary>
/// <c>ScaleOut__Enabled=true</c>: the host co-hosts an Orleans silo and reaches partitions other than 0 through their
/// grains, and answers through the AWS SDK as a host without it. With <c>--storage</c> on Azurite the silo's membership
/// is in Azurite's table service (Orleans' Azure Table clustering); without it, localhost clustering.
/// </summary>
public sealed class CoHostedSiloTests
{
    private const string Table = "orders";

    internal static HostProcessOptions ScaledOut(params (string Name, string Value)[] more)
    {
        var environment = new Dictionary<string, string>
        {
            ["Engine__Partitions"] = "2",
            ["ScaleOut__Enabled"] = "true",
            ["ScaleOut__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ScaleOut__GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (name, value) in more) environment[name] = value;
        return new HostProcessOptions { Environment = environment, StartTimeout = TimeSpan.FromSeconds(120) };
    }

    [Fact]
    public async Task ScaleOutEnabled_WithLocalhostClustering_AnswersEveryKeyThroughItsPartition()
    {
        await using var host = await HostProcess.StartAsync(ScaledOut());
        using var client = host.CreateClient();
        await WriteAndReadBackAsync(client);

        // Partition 1 was opened by its grain, in its own folder of the same data directory.
        Assert.True(Directory.Exists(Path.Combine(host.DataDirectory, "p1")));
    }

    [Fact]
    public async Task ScaleOutEnabled_WithStorage_KeepsMembershipInAzuriteTables()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        await using var host = await HostProcess.StartAsync(ScaledOut(("AzureWebJobsStorage", azurite.ConnectionString)));
        using var client = host.CreateClient();
        await WriteAndReadBackAsync(client);

        // Orleans' membership table holds this silo, active.
        var tables = new TableServiceClient(azurite.ConnectionString);
        var silos = new List<TableEntity>();
        await foreach (var t in tables.QueryAsync())
        {
            await foreach (var row in tables.GetTableClient(t.Name).QueryAsync<TableEntity>()) silos.Add(row);
        }

        Assert.Contains(silos, row => row.GetString("Status") == "Active");
    }

    private static async Task WriteAndReadBackAsync(AmazonDynamoDBClient client)
    {
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = Table,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
        });
        for (var i = 0; i < 40; i++)
            await client.PutItemAsync(Table, new Dictionary<string, AttributeValue> { ["pk"] = new("k" + i), ["v"] = new() { N = i.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
        for (var i = 0; i < 40; i++)
        {
            var got = await client.GetItemAsync(new GetItemRequest { TableName = Table, Key = new() { ["pk"] = new("k" + i) }, ConsistentRead = true });
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), got.Item["v"].N);
        }

        var failed = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.PutItemAsync(new PutItemRequest
        {
            TableName = Table,
            Item = new() { ["pk"] = new("k7"), ["v"] = new() { N = "0" } },
            ConditionExpression = "attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        }));
        Assert.Equal("7", failed.Item["v"].N);

        var scanned = new HashSet<string>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await client.ScanAsync(new ScanRequest { TableName = Table, Limit = 9, ExclusiveStartKey = start });
            foreach (var item in page.Items) Assert.True(scanned.Add(item["pk"].S));
            start = page.LastEvaluatedKey is { Count: > 0 } next ? next : null;
        }
        while (start != null);
        Assert.Equal(40, scanned.Count);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
