using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Api;

/// <summary>Condition expressions and legacy Expected on put, update and delete.</summary>
[Collection(SharedHostCollection.Name)]
public sealed partial class ConditionTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [System.Text.RegularExpressions.GeneratedRegex("[#:][A-Za-z0-9_]+")]
    private static partial System.Text.RegularExpressions.Regex Placeholders();

    private static Dictionary<string, AttributeValue> Sample(string pk) => new()
    {
        ["pk"] = S(pk),
        ["name"] = S("widget-blue"),
        ["count"] = N("5"),
        ["tags"] = new() { SS = ["red", "green"] },
        ["list"] = new() { L = [S("a"), S("b"), S("c")] },
        ["m"] = new() { M = new() { ["flag"] = new() { BOOL = true } } },
        ["nothing"] = new() { NULL = true },
    };

    [Theory]
    [InlineData("attribute_exists(#n)", true)]
    [InlineData("attribute_not_exists(#n)", false)]
    [InlineData("attribute_not_exists(absent)", true)]
    [InlineData("#c = :five", true)]
    [InlineData("#c <> :five", false)]
    [InlineData("#c < :ten AND #c >= :five", true)]
    [InlineData("#c > :five", false)]
    [InlineData("#c <= :one", false)]
    [InlineData("begins_with(#n, :prefix)", true)]
    [InlineData("begins_with(#n, :blue)", false)]
    [InlineData("contains(#n, :blue)", true)]
    [InlineData("contains(tags, :red)", true)]
    [InlineData("contains(tags, :blue)", false)]
    [InlineData("contains(#l, :b)", true)]
    [InlineData("size(#n) = :eleven", true)]
    [InlineData("size(tags) = :two AND size(#l) > :two", true)]
    [InlineData("attribute_type(#c, :typeN)", true)]
    [InlineData("attribute_type(#n, :typeN)", false)]
    [InlineData("attribute_type(nothing, :typeNULL)", true)]
    [InlineData("#c IN (:one, :five, :ten)", true)]
    [InlineData("#c IN (:one, :ten)", false)]
    [InlineData("#c BETWEEN :one AND :ten", true)]
    [InlineData("#c BETWEEN :ten AND :ten", false)]
    [InlineData("NOT (#c = :one) AND (#c = :ten OR m.flag = :true)", true)]
    [InlineData("NOT attribute_exists(m.flag)", false)]
    [InlineData("#l[1] = :b", true)]
    [InlineData("#c = :five AND #n = :blue OR absent = :one", false)]
    public async Task UpdateItem_ConditionExpression_DecidesWhetherTheWriteHappens(string condition, bool passes)
    {
        using var client = _host.CreateClient();
        var table = await SharedAsync(_host, "cond");
        var pk = NewKey();
        await client.PutItemAsync(table, Sample(pk));
        var names = new Dictionary<string, string> { ["#n"] = "name", ["#c"] = "count", ["#l"] = "list" };
        var values = new Dictionary<string, AttributeValue>
        {
            [":one"] = N("1"), [":two"] = N("2"), [":five"] = N("5"), [":ten"] = N("10"), [":eleven"] = N("11"),
            [":prefix"] = S("widget"), [":blue"] = S("blue"), [":red"] = S("red"), [":b"] = S("b"),
            [":typeN"] = S("N"), [":typeNULL"] = S("NULL"), [":true"] = new() { BOOL = true }, [":done"] = S("yes"),
        };
        var request = new UpdateItemRequest
        {
            TableName = table,
            Key = Key(pk),
            UpdateExpression = "SET done = :done",
            ConditionExpression = condition,
            ExpressionAttributeNames = names.Where(kv => Placeholders().Matches(condition).Any(m => m.Value == kv.Key)).ToDictionary(),
            ExpressionAttributeValues = values.Where(kv => kv.Key == ":done" || Placeholders().Matches(condition).Any(m => m.Value == kv.Key)).ToDictionary(),
        };
        if (request.ExpressionAttributeNames.Count == 0) request.ExpressionAttributeNames = null;

        if (passes)
        {
            await client.UpdateItemAsync(request);
            Assert.Equal("yes", (await client.GetItemAsync(table, Key(pk))).Item["done"].S);
        }
        else
        {
            var e = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.UpdateItemAsync(request));
            Assert.Equal("The conditional request failed", e.Message);
            Assert.False((await client.GetItemAsync(table, Key(pk))).Item.ContainsKey("done"));
        }
    }

    [Fact]
    public async Task PutItem_WithAttributeNotExists_PreventsOverwrite()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "cput");
        var put = new PutItemRequest { TableName = table, Item = new() { ["pk"] = S("k"), ["v"] = N("1") }, ConditionExpression = "attribute_not_exists(pk)" };

        await client.PutItemAsync(put);
        put.Item["v"] = N("2");
        var e = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.PutItemAsync(put));

        Assert.Equal("ConditionalCheckFailedException", e.ErrorCode);
        Assert.Null(e.Item);
        Assert.Equal("1", (await client.GetItemAsync(table, Key("k"))).Item["v"].N);
    }

    [Fact]
    public async Task PutItem_WithFailedCondition_ReturnsOldItemWhenAsked()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "cfail");
        await client.PutItemAsync(table, new() { ["pk"] = S("k"), ["v"] = N("1"), ["s"] = new() { SS = ["x"] } });

        var e = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.PutItemAsync(new PutItemRequest
        {
            TableName = table,
            Item = new() { ["pk"] = S("k"), ["v"] = N("9") },
            ConditionExpression = "v = :two",
            ExpressionAttributeValues = new() { [":two"] = N("2") },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        }));

        Assert.Equal("The conditional request failed", e.Message);
        Assert.Equal(["pk", "s", "v"], e.Item.Keys.Order());
        Assert.Equal("1", e.Item["v"].N);
        Assert.Equal(["x"], e.Item["s"].SS);
    }

    [Fact]
    public async Task UpdateAndDelete_WithFailedCondition_ReturnOldItemOnlyWhenAsked()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "cfail2");
        await client.PutItemAsync(table, new() { ["pk"] = S("k"), ["v"] = N("1") });

        var update = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table,
            Key = Key("k"),
            UpdateExpression = "SET v = :two",
            ConditionExpression = "v = :two",
            ExpressionAttributeValues = new() { [":two"] = N("2") },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        }));
        var delete = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.DeleteItemAsync(new DeleteItemRequest
        {
            TableName = table,
            Key = Key("k"),
            ConditionExpression = "attribute_not_exists(v)",
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.NONE,
        }));
        var missing = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.DeleteItemAsync(new DeleteItemRequest
        {
            TableName = table,
            Key = Key("absent"),
            ConditionExpression = "attribute_exists(pk)",
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        }));

        Assert.Equal("1", update.Item["v"].N);
        Assert.Null(delete.Item);
        Assert.True(missing.Item is null || missing.Item.Count == 0);
        Assert.True((await client.GetItemAsync(table, Key("k"))).IsItemSet);
    }

    [Fact]
    public async Task DeleteItem_WithPassingCondition_DeletesTheItem()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "cdel");
        await client.PutItemAsync(table, new() { ["pk"] = S("k"), ["v"] = N("1") });

        await client.DeleteItemAsync(new DeleteItemRequest
        {
            TableName = table,
            Key = Key("k"),
            ConditionExpression = "v = :one",
            ExpressionAttributeValues = new() { [":one"] = N("1.0") },
        });

        Assert.False((await client.GetItemAsync(table, Key("k"))).IsItemSet);
    }

    [Fact]
    public async Task LegacyExpected_WithConditionalOperator_GuardsWrites()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "expected");
        await client.PutItemAsync(table, new() { ["pk"] = S("k"), ["v"] = N("1"), ["s"] = S("abc") });

        await client.PutItemAsync(new PutItemRequest
        {
            TableName = table,
            Item = new() { ["pk"] = S("k"), ["v"] = N("2"), ["s"] = S("abc") },
            Expected = new()
            {
                ["v"] = new ExpectedAttributeValue { Value = N("1") },
                ["gone"] = new ExpectedAttributeValue { Exists = false },
            },
        });
        var failed = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.DeleteItemAsync(new DeleteItemRequest
        {
            TableName = table,
            Key = Key("k"),
            Expected = new()
            {
                ["v"] = new ExpectedAttributeValue { ComparisonOperator = ComparisonOperator.GT, AttributeValueList = [N("5")] },
                ["s"] = new ExpectedAttributeValue { ComparisonOperator = ComparisonOperator.BEGINS_WITH, AttributeValueList = [S("x")] },
            },
            ConditionalOperator = ConditionalOperator.OR,
        }));
        await client.DeleteItemAsync(new DeleteItemRequest
        {
            TableName = table,
            Key = Key("k"),
            Expected = new()
            {
                ["v"] = new ExpectedAttributeValue { ComparisonOperator = ComparisonOperator.GT, AttributeValueList = [N("5")] },
                ["s"] = new ExpectedAttributeValue { ComparisonOperator = ComparisonOperator.BEGINS_WITH, AttributeValueList = [S("ab")] },
            },
            ConditionalOperator = ConditionalOperator.OR,
        });

        Assert.Equal("The conditional request failed", failed.Message);
        Assert.False((await client.GetItemAsync(table, Key("k"))).IsItemSet);
    }
}
