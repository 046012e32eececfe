using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Api;

/// <summary>Item round trips, number canonicalisation, projections and consumed capacity through the low-level client.</summary>
[Collection(SharedHostCollection.Name)]
public class ItemTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    private static MemoryStream Bytes(params byte[] b) => new(b);

    [Fact]
    public async Task PutItem_EveryAttributeType_RoundTripsThroughGetItem()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "types", ScalarAttributeType.S, ScalarAttributeType.B);
        var item = new Dictionary<string, AttributeValue>
        {
            ["pk"] = S("h"),
            ["sk"] = new() { B = Bytes(0, 1, 2, 255) },
            ["s"] = S("héllo ✓"),
            ["empty"] = S(""),
            ["emptyBin"] = new() { B = Bytes() },
            ["n"] = N("-12.5"),
            ["b"] = new() { B = Bytes(9, 8, 7) },
            ["t"] = new() { BOOL = true },
            ["f"] = new() { BOOL = false },
            ["nul"] = new() { NULL = true },
            ["ss"] = new() { SS = ["b", "a"] },
            ["ns"] = new() { NS = ["3", "1.5"] },
            ["bs"] = new() { BS = [Bytes(1), Bytes(2)] },
            ["l"] = new() { L = [S("x"), N("1"), new() { L = [new() { BOOL = true }] }, new() { M = new() { ["k"] = S("v") } }] },
            ["m"] = new() { M = new() { ["inner"] = new() { M = new() { ["deep"] = new() { L = [N("7")] } } }, ["e"] = new() { M = new() } } },
            ["el"] = new() { L = [] },
        };

        await client.PutItemAsync(table, item);
        var got = (await client.GetItemAsync(new GetItemRequest
        {
            TableName = table,
            Key = new() { ["pk"] = S("h"), ["sk"] = new() { B = Bytes(0, 1, 2, 255) } },
            ConsistentRead = true,
        })).Item;

        Assert.Equal(item.Keys.Order(), got.Keys.Order());
        Assert.Equal("héllo ✓", got["s"].S);
        Assert.Equal("", got["empty"].S);
        Assert.Empty(got["emptyBin"].B.ToArray());
        Assert.Equal("-12.5", got["n"].N);
        Assert.Equal(new byte[] { 9, 8, 7 }, got["b"].B.ToArray());
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, got["sk"].B.ToArray());
        Assert.True(got["t"].BOOL);
        Assert.False(got["f"].BOOL);
        Assert.True(got["nul"].NULL);
        Assert.Equal(["a", "b"], got["ss"].SS.Order());
        Assert.Equal(["1.5", "3"], got["ns"].NS.Order());
        Assert.Equal([1, 2], got["bs"].BS.Select(b => (int)b.ToArray().Single()).Order());
        var l = got["l"].L;
        Assert.Equal("x", l[0].S);
        Assert.Equal("1", l[1].N);
        Assert.True(l[2].L.Single().BOOL);
        Assert.Equal("v", l[3].M["k"].S);
        Assert.Equal("7", got["m"].M["inner"].M["deep"].L.Single().N);
        Assert.True(got["m"].M["e"].IsMSet);
        Assert.Empty(got["m"].M["e"].M);
        Assert.True(got["el"].IsLSet);
        Assert.Empty(got["el"].L);
    }

    [Theory]
    [InlineData("01.50", "1.5")]
    [InlineData("-0", "0")]
    [InlineData("+5", "5")]
    [InlineData("1.0", "1")]
    [InlineData("1.5E2", "150")]
    [InlineData("1E+3", "1000")]
    [InlineData("1e-5", "0.00001")]
    [InlineData("00042", "42")]
    [InlineData("12345678901234567890123456789012345678", "12345678901234567890123456789012345678")]
    [InlineData("-0.000000000000000000000000000000000000012345678901234567890123456789012345678", "-0.000000000000000000000000000000000000012345678901234567890123456789012345678")]
    [InlineData("9.9999999999999999999999999999999999999E+125", "999999999999999999999999999999999999990000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("1.00000000000000007629769841092E+50", "100000000000000007629769841092000000000000000000000")]
    public async Task PutItem_Number_IsStoredInCanonicalForm(string sent, string expected)
    {
        using var client = _host.CreateClient();
        var table = await SharedTableAsync(client);
        var pk = Guid.NewGuid().ToString();

        await client.PutItemAsync(table, new() { ["pk"] = S(pk), ["n"] = N(sent), ["ns"] = new() { NS = [sent] } });
        var got = (await client.GetItemAsync(table, Key(pk))).Item;

        Assert.Equal(expected, got["n"].N);
        Assert.Equal(expected, Assert.Single(got["ns"].NS));
    }

    [Fact]
    public async Task GetItem_MissingItem_ReturnsNoItem()
    {
        using var client = _host.CreateClient();
        var table = await SharedTableAsync(client);

        var response = await client.GetItemAsync(table, Key("never-written"));

        Assert.False(response.IsItemSet);
    }

    [Fact]
    public async Task GetItem_WithNestedProjectionExpression_ReturnsOnlyThosePaths()
    {
        using var client = _host.CreateClient();
        var table = await SharedTableAsync(client);
        await client.PutItemAsync(table, new()
        {
            ["pk"] = S("proj"),
            ["a"] = S("keep"),
            ["b"] = S("drop"),
            ["m"] = new() { M = new() { ["x"] = N("1"), ["y"] = new() { M = new() { ["z"] = S("deep"), ["w"] = S("no") } } } },
            ["l"] = new() { L = [S("l0"), S("l1"), new() { M = new() { ["q"] = S("l2q"), ["r"] = S("no") } }] },
            ["name"] = S("reserved"),
        });

        var got = (await client.GetItemAsync(new GetItemRequest
        {
            TableName = table,
            Key = Key("proj"),
            ProjectionExpression = "a, m.y.z, l[2].q, l[0], #n, absent.spot",
            ExpressionAttributeNames = new() { ["#n"] = "name" },
        })).Item;

        Assert.Equal(["a", "l", "m", "name"], got.Keys.Order());
        Assert.Equal("keep", got["a"].S);
        Assert.Equal("deep", Assert.Single(got["m"].M["y"].M).Value.S);
        Assert.Single(got["m"].M);
        Assert.Equal(2, got["l"].L.Count);
        Assert.Equal("l0", got["l"].L[0].S);
        Assert.Equal("l2q", Assert.Single(got["l"].L[1].M).Value.S);
        Assert.Equal("reserved", got["name"].S);
    }

    [Fact]
    public async Task GetItem_WithLegacyAttributesToGet_ReturnsThoseAttributes()
    {
        using var client = _host.CreateClient();
        var table = await SharedTableAsync(client);
        await client.PutItemAsync(table, new() { ["pk"] = S("atg"), ["a"] = N("1"), ["b"] = N("2"), ["c"] = N("3") });

        var got = (await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("atg"), AttributesToGet = ["a", "c", "zz"] })).Item;

        Assert.Equal(["a", "c"], got.Keys.Order());
    }

    [Fact]
    public async Task ConsumedCapacity_FollowsAwsRounding()
    {
        using var client = _host.CreateClient();
        var table = await SharedTableAsync(client);
        var pk = "cap-" + Guid.NewGuid().ToString("N")[..8]; // 12 bytes
        // item: "pk"(2) + pk(12) + "d"(1) + 5000-byte string = 5015 bytes -> 5 write units, 2 strong read units.
        var big = new Dictionary<string, AttributeValue> { ["pk"] = S(pk), ["d"] = S(new string('x', 5000)) };

        var put = await client.PutItemAsync(new PutItemRequest { TableName = table, Item = big, ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL });
        var strong = await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key(pk), ConsistentRead = true, ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL });
        var eventual = await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key(pk), ReturnConsumedCapacity = ReturnConsumedCapacity.INDEXES });
        var projected = await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key(pk), ProjectionExpression = "pk", ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL });
        var missing = await client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("nothing-here"), ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL });
        var small = await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table,
            Key = Key(pk),
            UpdateExpression = "SET d = :s",
            ExpressionAttributeValues = new() { [":s"] = S("tiny") },
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        });
        var delete = await client.DeleteItemAsync(new DeleteItemRequest { TableName = table, Key = Key(pk), ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL });
        var deleteMissing = await client.DeleteItemAsync(new DeleteItemRequest { TableName = table, Key = Key(pk), ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL });
        var none = await client.PutItemAsync(new PutItemRequest { TableName = table, Item = Key(pk), ReturnConsumedCapacity = ReturnConsumedCapacity.NONE });

        Assert.Equal(table, put.ConsumedCapacity.TableName);
        Assert.Equal(5, put.ConsumedCapacity.CapacityUnits);
        Assert.Equal(2, strong.ConsumedCapacity.CapacityUnits);
        Assert.Equal(1, eventual.ConsumedCapacity.CapacityUnits);
        Assert.Equal(1, eventual.ConsumedCapacity.Table.CapacityUnits);
        Assert.Equal(1, projected.ConsumedCapacity.CapacityUnits); // the whole item is read, halved
        Assert.Equal(0.5, missing.ConsumedCapacity.CapacityUnits);
        Assert.Equal(5, small.ConsumedCapacity.CapacityUnits); // max(old, new) size
        Assert.Equal(1, delete.ConsumedCapacity.CapacityUnits);
        Assert.Equal(1, deleteMissing.ConsumedCapacity.CapacityUnits);
        Assert.Null(none.ConsumedCapacity);
    }

    [Fact]
    public async Task DeleteItem_ReturnsOldItemWithAllOld()
    {
        using var client = _host.CreateClient();
        var table = await SharedTableAsync(client);
        await client.PutItemAsync(table, new() { ["pk"] = S("del"), ["v"] = N("1") });

        var first = await client.DeleteItemAsync(new DeleteItemRequest { TableName = table, Key = Key("del"), ReturnValues = ReturnValue.ALL_OLD });
        var second = await client.DeleteItemAsync(new DeleteItemRequest { TableName = table, Key = Key("del"), ReturnValues = ReturnValue.ALL_OLD });

        Assert.Equal("1", first.Attributes["v"].N);
        Assert.True(second.Attributes is null || second.Attributes.Count == 0);
        Assert.False((await client.GetItemAsync(table, Key("del"))).IsItemSet);
    }

    [Fact]
    public async Task PutItem_WithAllOld_ReturnsReplacedItem()
    {
        using var client = _host.CreateClient();
        var table = await SharedTableAsync(client);
        var pk = Guid.NewGuid().ToString();

        var first = await client.PutItemAsync(new PutItemRequest { TableName = table, Item = new() { ["pk"] = S(pk), ["v"] = N("1") }, ReturnValues = ReturnValue.ALL_OLD });
        var second = await client.PutItemAsync(new PutItemRequest { TableName = table, Item = new() { ["pk"] = S(pk), ["w"] = N("2") }, ReturnValues = ReturnValue.ALL_OLD });
        var current = (await client.GetItemAsync(table, Key(pk))).Item;

        Assert.True(first.Attributes is null || first.Attributes.Count == 0);
        Assert.Equal(["pk", "v"], second.Attributes.Keys.Order());
        Assert.Equal(["pk", "w"], current.Keys.Order());
    }

    private Task<string> SharedTableAsync(IAmazonDynamoDB client) => ApiTables.SharedAsync(_host, "items");
}
