using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Api;

/// <summary>UpdateItem: update expressions, legacy AttributeUpdates and every ReturnValues mode.</summary>
[Collection(SharedHostCollection.Name)]
public class UpdateItemTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    private async Task<(IAmazonDynamoDB Client, string Table, string Pk)> SeedAsync()
    {
        var client = _host.CreateClient();
        var table = await SharedAsync(_host, "update");
        var pk = NewKey();
        await client.PutItemAsync(table, new()
        {
            ["pk"] = S(pk),
            ["n"] = N("10"),
            ["s"] = S("keep"),
            ["list"] = new() { L = [S("a"), S("b"), S("c")] },
            ["ss"] = new() { SS = ["x", "y", "z"] },
            ["ns"] = new() { NS = ["1", "2"] },
            ["m"] = new() { M = new() { ["nested"] = N("1"), ["spare"] = S("o") } },
        });
        return (client, table, pk);
    }

    [Fact]
    public async Task UpdateExpression_SetRemoveAddDelete_AllApply()
    {
        var (client, table, pk) = await SeedAsync();
        using var _ = (IDisposable)client;

        await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table,
            Key = Key(pk),
            UpdateExpression =
                "SET n = n + :five, diff = :ten - n, fresh = if_not_exists(fresh, :one), s = if_not_exists(s, :ignored), " +
                "#l = list_append(:front, #l), m.nested = m.nested - :one, m.added = :one " +
                "REMOVE m.spare " +
                "ADD hits :five, ns :moreNs " +
                "DELETE ss :lessSs",
            ExpressionAttributeNames = new() { ["#l"] = "list" },
            ExpressionAttributeValues = new()
            {
                [":five"] = N("5"), [":ten"] = N("10"), [":one"] = N("1"), [":ignored"] = S("ignored"),
                [":front"] = new() { L = [S("0")] },
                [":moreNs"] = new() { NS = ["2", "3.0"] },
                [":lessSs"] = new() { SS = ["x", "nope"] },
            },
        });
        var item = (await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key(pk), ConsistentRead = true })).Item;

        Assert.Equal("15", item["n"].N);
        Assert.Equal("0", item["diff"].N); // 10 - old n (10), not the new 15
        Assert.Equal("1", item["fresh"].N);
        Assert.Equal("keep", item["s"].S);
        Assert.Equal(["0", "a", "b", "c"], item["list"].L.Select(v => v.S));
        Assert.Equal("0", item["m"].M["nested"].N);
        Assert.Equal("1", item["m"].M["added"].N);
        Assert.False(item["m"].M.ContainsKey("spare"));
        Assert.Equal("5", item["hits"].N);
        Assert.Equal(["1", "2", "3"], item["ns"].NS.Order());
        Assert.Equal(["y", "z"], item["ss"].SS.Order());
    }

    [Fact]
    public async Task UpdateExpression_DeletingEverySetMember_RemovesTheAttribute()
    {
        var (client, table, pk) = await SeedAsync();
        using var _ = (IDisposable)client;

        await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table,
            Key = Key(pk),
            UpdateExpression = "DELETE ss :all REMOVE #l[0], #l[2]",
            ExpressionAttributeNames = new() { ["#l"] = "list" },
            ExpressionAttributeValues = new() { [":all"] = new() { SS = ["x", "y", "z"] } },
        });
        var item = (await client.GetItemAsync(table, Key(pk))).Item;

        Assert.False(item.ContainsKey("ss"));
        Assert.Equal(["b"], item["list"].L.Select(v => v.S));
    }

    [Fact]
    public async Task UpdateItem_OnMissingItem_CreatesItWithTheKey()
    {
        using var client = _host.CreateClient();
        var table = await SharedAsync(_host, "update");
        var pk = NewKey();

        var response = await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table,
            Key = Key(pk),
            UpdateExpression = "ADD visits :one SET tags = :tags",
            ExpressionAttributeValues = new() { [":one"] = N("1"), [":tags"] = new() { L = [] } },
            ReturnValues = ReturnValue.ALL_NEW,
        });

        Assert.Equal(["pk", "tags", "visits"], response.Attributes.Keys.Order());
        Assert.Equal("1", response.Attributes["visits"].N);
    }

    [Theory]
    [InlineData("NONE", new string[0])]
    [InlineData("ALL_OLD", new[] { "list", "m", "n", "ns", "pk", "s", "ss" })]
    [InlineData("UPDATED_OLD", new[] { "n", "s" })]
    [InlineData("ALL_NEW", new[] { "extra", "list", "m", "n", "ns", "pk", "ss" })]
    [InlineData("UPDATED_NEW", new[] { "extra", "n" })]
    public async Task UpdateItem_ReturnValues_ReturnsTheRequestedAttributes(string mode, string[] expected)
    {
        var (client, table, pk) = await SeedAsync();
        using var _ = (IDisposable)client;

        var response = await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table,
            Key = Key(pk),
            UpdateExpression = "SET n = :v, extra = :v REMOVE s",
            ExpressionAttributeValues = new() { [":v"] = N("42") },
            ReturnValues = new ReturnValue(mode),
        });

        Assert.Equal(expected, (response.Attributes ?? []).Keys.Order());
        if (mode == "UPDATED_OLD")
        {
            Assert.Equal("10", response.Attributes!["n"].N);
            Assert.Equal("keep", response.Attributes!["s"].S);
        }

        if (mode == "UPDATED_NEW") Assert.Equal("42", response.Attributes!["n"].N);
    }

    [Fact]
    public async Task UpdateItem_UpdatedOldAndNewWithNestedPaths_ReturnOnlyThosePaths()
    {
        var (client, table, pk) = await SeedAsync();
        using var _ = (IDisposable)client;

        Task<UpdateItemResponse> UpdateAsync(string expression, ReturnValue mode, Dictionary<string, AttributeValue>? values = null) =>
            client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table,
                Key = Key(pk),
                UpdateExpression = expression,
                ExpressionAttributeNames = expression.Contains("#l", StringComparison.Ordinal) ? new() { ["#l"] = "list" } : null,
                ExpressionAttributeValues = values,
                ReturnValues = mode,
            });

        var newNested = await UpdateAsync("SET m.nested = :v, #l[1] = :s", ReturnValue.UPDATED_NEW, new() { [":v"] = N("2"), [":s"] = S("B") });
        var oldNested = await UpdateAsync("SET m.nested = :v REMOVE #l[0]", ReturnValue.UPDATED_OLD, new() { [":v"] = N("3") });
        var oldOfNewAttribute = await UpdateAsync("SET m.brandNew = :v", ReturnValue.UPDATED_OLD, new() { [":v"] = N("4") });
        var beyondEnd = await UpdateAsync("SET #l[100] = :v", ReturnValue.UPDATED_NEW, new() { [":v"] = S("end") });

        // Only the targeted paths come back, inside their enclosing maps and (compacted) lists.
        Assert.Equal(["m", "list"], newNested.Attributes.Keys.Order().Reverse());
        Assert.Equal("2", Assert.Single(newNested.Attributes["m"].M).Value.N);
        Assert.Equal("B", Assert.Single(newNested.Attributes["list"].L).S);
        Assert.Equal("2", Assert.Single(oldNested.Attributes["m"].M).Value.N);
        Assert.Equal("a", Assert.Single(oldNested.Attributes["list"].L).S);
        Assert.True(oldOfNewAttribute.Attributes is null || oldOfNewAttribute.Attributes.Count == 0);
        Assert.True(beyondEnd.Attributes is null || beyondEnd.Attributes.Count == 0);
        var item = (await client.GetItemAsync(table, Key(pk))).Item;
        Assert.Equal(["B", "c", "end"], item["list"].L.Select(v => v.S));
    }

    [Fact]
    public async Task LegacyAttributeUpdates_PutAddDelete_Apply()
    {
        var (client, table, pk) = await SeedAsync();
        using var _ = (IDisposable)client;

        var response = await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table,
            Key = Key(pk),
            AttributeUpdates = new()
            {
                ["s"] = new AttributeValueUpdate { Action = AttributeAction.PUT, Value = S("put") },
                ["n"] = new AttributeValueUpdate { Action = AttributeAction.ADD, Value = N("-3") },
                ["ss"] = new AttributeValueUpdate { Action = AttributeAction.DELETE, Value = new() { SS = ["x"] } },
                ["m"] = new AttributeValueUpdate { Action = AttributeAction.DELETE },
                ["list"] = new AttributeValueUpdate { Action = AttributeAction.ADD, Value = new() { L = [S("d")] } },
            },
            Expected = new() { ["n"] = new ExpectedAttributeValue { Value = N("10") } },
            ReturnValues = ReturnValue.ALL_NEW,
        });
        var item = response.Attributes;

        Assert.Equal("put", item["s"].S);
        Assert.Equal("7", item["n"].N);
        Assert.Equal(["y", "z"], item["ss"].SS.Order());
        Assert.False(item.ContainsKey("m"));
        Assert.Equal(["a", "b", "c", "d"], item["list"].L.Select(v => v.S));
    }
}
