using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.DocumentModel;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Api;

/// <summary>The SDK's document model (<see cref="Table"/>, <see cref="Document"/>) against the service.</summary>
[Collection(SharedHostCollection.Name)]
public sealed class DocumentModelTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [Fact]
    public async Task TableBuilder_PutGetUpdateDelete_RoundTripDocuments()
    {
        using var client = _host.CreateClient();
        var name = await CreateAsync(client, "doc", ScalarAttributeType.S, ScalarAttributeType.N);
        var table = new TableBuilder(client, name).AddHashKey("pk", DynamoDBEntryType.String).AddRangeKey("sk", DynamoDBEntryType.Numeric).Build();

        var doc = new Document
        {
            ["pk"] = "user#1",
            ["sk"] = 7,
            ["name"] = "Ada",
            ["score"] = 12.5m,
            ["active"] = new DynamoDBBool(true),
            ["tags"] = new PrimitiveList(DynamoDBEntryType.String) { Entries = [new Primitive("a"), new Primitive("b")] },
            ["address"] = new Document { ["city"] = "London", ["zip"] = "N1" },
            ["history"] = new DynamoDBList([new Primitive("1", true), new Document { ["k"] = "v" }]),
            ["nothing"] = DynamoDBNull.Null,
        };

        await table.PutItemAsync(doc);
        var loaded = await table.GetItemAsync("user#1", 7);

        Assert.Equal("Ada", loaded["name"].AsString());
        Assert.Equal(12.5m, loaded["score"].AsDecimal());
        Assert.True(loaded["active"].AsBoolean());
        Assert.Equal(["a", "b"], loaded["tags"].AsListOfString().Order());
        Assert.Equal("London", loaded["address"].AsDocument()["city"].AsString());
        Assert.Equal(1, loaded["history"].AsListOfDynamoDBEntry()[0].AsInt());
        Assert.Equal("v", loaded["history"].AsListOfDynamoDBEntry()[1].AsDocument()["k"].AsString());
        Assert.IsType<DynamoDBNull>(loaded["nothing"]);

        var updated = await table.UpdateItemAsync(
            new Document { ["pk"] = "user#1", ["sk"] = 7, ["name"] = "Ada L." },
            new UpdateItemOperationConfig { ReturnValues = ReturnValues.AllNewAttributes });
        Assert.Equal("Ada L.", updated["name"].AsString());
        Assert.Equal("London", updated["address"].AsDocument()["city"].AsString());

        var deleted = await table.DeleteItemAsync("user#1", 7, new DeleteItemOperationConfig { ReturnValues = ReturnValues.AllOldAttributes });
        Assert.Equal("Ada L.", deleted["name"].AsString());
        Assert.Null(await table.GetItemAsync("user#1", 7));
    }

    [Fact]
    public async Task PutItem_WithConditionalExpression_PreventsOverwriteAndAllowsMatchingVersion()
    {
        using var client = _host.CreateClient();
        var name = await CreateAsync(client, "doccond");
        var table = new TableBuilder(client, name).AddHashKey("pk", DynamoDBEntryType.String).Build();
        await table.PutItemAsync(new Document { ["pk"] = "k", ["version"] = 1 });

        var mustNotExist = new PutItemOperationConfig
        {
            ConditionalExpression = new Expression { ExpressionStatement = "attribute_not_exists(pk)" },
        };
        var versionMatches = new PutItemOperationConfig
        {
            ConditionalExpression = new Expression
            {
                ExpressionStatement = "#v = :expected",
                ExpressionAttributeNames = { ["#v"] = "version" },
                ExpressionAttributeValues = { [":expected"] = 1 },
            },
            ReturnValues = ReturnValues.AllOldAttributes,
        };

        await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => table.PutItemAsync(new Document { ["pk"] = "k", ["version"] = 99 }, mustNotExist));
        var old = await table.PutItemAsync(new Document { ["pk"] = "k", ["version"] = 2 }, versionMatches);
        await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => table.PutItemAsync(new Document { ["pk"] = "k", ["version"] = 3 }, versionMatches));

        Assert.Equal(1, old["version"].AsInt());
        Assert.Equal(2, (await table.GetItemAsync("k"))["version"].AsInt());
    }

    [Fact]
    public async Task LoadTable_ReadsKeySchemaFromDescribeTable()
    {
        using var client = _host.CreateClient();
        var name = await CreateAsync(client, "docload", ScalarAttributeType.N, ScalarAttributeType.S);

        // Deliberately the DescribeTable-driven path: the SDK builds the key schema from our response.
#pragma warning disable CS0618 // LoadTable is obsolete in favour of TableBuilder
        var table = await Task.Run(() => Table.LoadTable(client, name));
#pragma warning restore CS0618
        await table.PutItemAsync(new Document { ["pk"] = 5, ["sk"] = "x", ["v"] = "loaded" });
        var doc = await table.GetItemAsync(5, "x");

        Assert.Equal(["pk"], table.HashKeys);
        Assert.Equal(["sk"], table.RangeKeys);
        Assert.Equal("loaded", doc["v"].AsString());
    }
}
