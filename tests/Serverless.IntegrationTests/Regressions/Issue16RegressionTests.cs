using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Regressions;

/// <summary>The bugs of issue 16, each through a real client: bad input, updates of absent items, transaction key types.</summary>
[Collection(SharedHostCollection.Name)]
public sealed class Issue16RegressionTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // a surrogate encoded as UTF-8
    public async Task StringWithInvalidUtf8_IsSerializationException(byte[] bad)
    {
        var table = await SharedAsync(_host, "badinput");
        using var http = _host.CreateHttpClient();
        foreach (var (target, template) in new[]
                 {
                     ("PutItem", "{\"TableName\":\"" + table + "\",\"Item\":{\"pk\":{\"S\":\"a@\"},\"b\":{\"B\":\"AAE=\"}}}"),
                     ("GetItem", "{\"TableName\":\"" + table + "@\",\"Key\":{\"pk\":{\"S\":\"a\"}}}"),
                     ("Scan", "{\"TableName\":\"" + table + "\",\"ExpressionAttributeNames\":{\"#n@\":\"x\"},\"ProjectionExpression\":\"#n\"}"),
                 })
        {
            await AssertBadRequestAsync(http, target, Splice(template, bad));
        }
    }

    [Theory]
    [InlineData("\\ud800")]
    [InlineData("\\udc00")]
    [InlineData("\\ud800\\u0041")]
    [InlineData("x\\ud83d")]
    public async Task LoneSurrogateEscape_IsSerializationException(string escape)
    {
        var table = await SharedAsync(_host, "badinput");
        using var http = _host.CreateHttpClient();
        foreach (var body in new[]
                 {
                     "{\"TableName\":\"" + table + "\",\"Item\":{\"pk\":{\"S\":\"" + escape + "\"}}}",
                     "{\"TableName\":\"" + table + "\",\"Item\":{\"pk\":{\"S\":\"a\"},\"" + escape + "\":{\"S\":\"v\"}}}",
                 })
            await AssertBadRequestAsync(http, "PutItem", Encoding.UTF8.GetBytes(body));
    }

    [Fact]
    public async Task PairedSurrogatesAndEscapedBackslashes_StillWork()
    {
        var table = await SharedAsync(_host, "badinput");
        using var http = _host.CreateHttpClient();
        var pk = NewKey();
        var body = "{\"TableName\":\"" + table + "\",\"Item\":{\"pk\":{\"S\":\"" + pk + "\"},\"e\":{\"S\":\"\\ud83d\\ude00 \\\\ud800\"}}}";

        var response = await RawApi.PostAsync(http, "DynamoDB_20120810.PutItem", body);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        using var client = _host.CreateClient();
        var item = (await client.GetItemAsync(table, Key(pk), consistentRead: true)).Item;
        Assert.Equal("\U0001F600 \\ud800", item["e"].S);
    }

    [Theory]
    [InlineData("GetItem", "\"Key\":[1]")]
    [InlineData("GetItem", "\"Key\":\"pk\"")]
    [InlineData("DeleteItem", "\"Key\":true")]
    [InlineData("UpdateItem", "\"Key\":5")]
    public async Task KeyOfTheWrongJsonType_IsSerializationException(string operation, string member)
    {
        var table = await SharedAsync(_host, "badinput");
        using var http = _host.CreateHttpClient();

        await AssertBadRequestAsync(http, operation, Encoding.UTF8.GetBytes("{\"TableName\":\"" + table + "\"," + member + "}"));
    }

    [Fact]
    public async Task KeysListHoldingANonMap_IsA400()
    {
        var table = await SharedAsync(_host, "badinput");
        using var http = _host.CreateHttpClient();
        foreach (var (operation, body) in new[]
                 {
                     ("BatchGetItem", "{\"RequestItems\":{\"" + table + "\":{\"Keys\":[\"pk\",null]}}}"),
                     ("BatchWriteItem", "{\"RequestItems\":{\"" + table + "\":[{\"DeleteRequest\":{\"Key\":[]}}]}}"),
                 })
            await AssertBadRequestAsync(http, operation, Encoding.UTF8.GetBytes(body), errorType: null);
    }

    [Theory]
    [InlineData("SELECT * FROM \"@T\" WHERE pk = ?")]
    [InlineData("UPDATE \"@T\" SET v = ? WHERE pk = 'a'")]
    [InlineData("INSERT INTO \"@T\" VALUE {'pk': 'deep', 'v': ?}")]
    public async Task PartiQLParameterNestedTooDeep_IsValidationException(string statement)
    {
        var table = await SharedAsync(_host, "badinput");
        using var http = _host.CreateHttpClient();
        var deep = "{\"S\":\"x\"}";
        for (var i = 0; i < 40; i++) deep = "{\"M\":{\"k\":" + deep + "}}";
        var body = "{\"Statement\":" + JsonSerializer.Serialize(statement.Replace("@T", table)) + ",\"Parameters\":[" + deep + "]}";

        await AssertBadRequestAsync(http, "ExecuteStatement", Encoding.UTF8.GetBytes(body), "com.amazon.coral.validate#ValidationException");
    }

    [Theory]
    [InlineData("zz\r\n{}\r\n0\r\n\r\n")] // a chunk size that is not hex
    [InlineData("5\r\n{}\r\n0\r\n\r\n")] // a chunk longer than its data, then garbage where its end should be
    [InlineData("2\r\n{}XX0\r\n\r\n")] // no CRLF after the chunk
    public async Task MalformedChunkedBody_Gets400NotA500(string chunked)
    {
        var request = "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n" +
                      "Content-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked;

        var answer = await RawApi.SendBytesAsync(_host.Port, Encoding.ASCII.GetBytes(request));

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        Assert.Contains("com.amazon.coral.service#SerializationException", answer, StringComparison.Ordinal);
        Assert.True(!_host.HasExited, _host.Output);
        await Host.ProtocolTests.AssertServesAsync(_host);
    }

    [Fact]
    public async Task UpdateThatOnlyRemovesOrDeletes_OnAbsentItem_CreatesNothing()
    {
        using var client = _host.CreateClient();
        var table = await SharedAsync(_host, "absentupdate");
        var removed = NewKey();
        var deleted = NewKey();
        var legacy = NewKey();

        var remove = await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table, Key = Key(removed), UpdateExpression = "REMOVE a, b.c", ReturnValues = ReturnValue.ALL_NEW,
        });
        var delete = await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table, Key = Key(deleted), UpdateExpression = "DELETE ss :s", ReturnValues = ReturnValue.UPDATED_NEW,
            ExpressionAttributeValues = new() { [":s"] = new AttributeValue { SS = ["x"] } },
        });
        var legacyDelete = await client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table, Key = Key(legacy), ReturnValues = ReturnValue.ALL_NEW,
            AttributeUpdates = new() { ["a"] = new AttributeValueUpdate { Action = AttributeAction.DELETE } },
        });

        Assert.True(remove.Attributes is null or { Count: 0 });
        Assert.True(delete.Attributes is null or { Count: 0 });
        Assert.True(legacyDelete.Attributes is null or { Count: 0 });
        foreach (var pk in new[] { removed, deleted, legacy })
            Assert.False((await client.GetItemAsync(table, Key(pk), consistentRead: true)).IsItemSet);

        // An update that sets something still creates the item, as does one with no actions at all.
        var set = NewKey();
        await client.UpdateItemAsync(new UpdateItemRequest { TableName = table, Key = Key(set), UpdateExpression = "SET a = :v REMOVE b", ExpressionAttributeValues = new() { [":v"] = S("1") } });
        var bare = NewKey();
        await client.UpdateItemAsync(new UpdateItemRequest { TableName = table, Key = Key(bare) });
        Assert.Equal("1", (await client.GetItemAsync(table, Key(set), consistentRead: true)).Item["a"].S);
        Assert.True((await client.GetItemAsync(table, Key(bare), consistentRead: true)).IsItemSet);
    }

    [Fact]
    public async Task TransactionKeyOfTheWrongType_IsCancelledWithValidationErrorReason()
    {
        using var client = _host.CreateClient();
        var table = await SharedAsync(_host, "txkeytype");
        var good = NewKey();

        var e = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { Put = new Put { TableName = table, Item = new() { ["pk"] = S(good) } } },
                new() { Update = new Update { TableName = table, Key = new() { ["pk"] = N("1") }, UpdateExpression = "SET a = :v", ExpressionAttributeValues = new() { [":v"] = S("v") } } },
                new() { Delete = new Delete { TableName = table, Key = new() { ["pk"] = new AttributeValue { M = new() { ["x"] = S("y") } } } } },
                new() { Put = new Put { TableName = table, Item = new() { ["pk"] = N("2") } } },
            ],
        }));

        Assert.Equal(["None", "ValidationError", "ValidationError", "ValidationError"], e.CancellationReasons.Select(r => r.Code));
        Assert.Equal("The provided key element does not match the schema", e.CancellationReasons[1].Message);
        Assert.Equal("The provided key element does not match the schema", e.CancellationReasons[2].Message);
        Assert.Equal("One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N", e.CancellationReasons[3].Message);
        Assert.False((await client.GetItemAsync(table, Key(good), consistentRead: true)).IsItemSet);

        // An empty key value stays a request-level error, as on AWS.
        await Assert.ThrowsAsync<AmazonDynamoDBException>(async () =>
        {
            try
            {
                await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
                {
                    TransactItems = [new() { Delete = new Delete { TableName = table, Key = new() { ["pk"] = S("") } } }],
                });
            }
            catch (TransactionCanceledException)
            {
                Assert.Fail("an empty key is not a cancellation");
            }
        });
    }

    private static byte[] Splice(string template, byte[] bad)
    {
        var at = template.IndexOf('@');
        var head = Encoding.UTF8.GetBytes(template[..at]);
        var tail = Encoding.UTF8.GetBytes(template[(at + 1)..]);
        return [.. head, .. bad, .. tail];
    }

    private static async Task AssertBadRequestAsync(HttpClient http, string operation, byte[] body, string? errorType = "com.amazon.coral.service#SerializationException")
    {
        var response = await RawApi.PostAsync(http, "DynamoDB_20120810." + operation, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        if (errorType != null) Assert.Equal(errorType, response.ErrorType());
    }
}
