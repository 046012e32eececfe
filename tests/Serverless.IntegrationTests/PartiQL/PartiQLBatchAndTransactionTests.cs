using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.PartiQL;

/// <summary>BatchExecuteStatement and ExecuteTransaction through the AWS SDK.</summary>
[Collection(SharedHostCollection.Name)]
public sealed class PartiQLBatchAndTransactionTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    private static ParameterizedStatement Tx(string statement, params AttributeValue[] parameters) =>
        new() { Statement = statement, Parameters = parameters.Length == 0 ? null : [.. parameters] };

    private static BatchStatementRequest Batch(string statement, params AttributeValue[] parameters) =>
        new() { Statement = statement, Parameters = parameters.Length == 0 ? null : [.. parameters] };

    [Fact]
    public async Task Batch_OfWrites_ReportsEachStatementsErrorInItsPlace()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-bw");
        await client.PutItemAsync(t, new() { ["pk"] = S("exists"), ["n"] = N("1") });

        var response = await client.BatchExecuteStatementAsync(new BatchExecuteStatementRequest
        {
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
            Statements =
            [
                Batch($"INSERT INTO \"{t}\" VALUE {{'pk': ?, 'n': 2}}", S("new")),
                Batch($"INSERT INTO \"{t}\" VALUE {{'pk': 'exists'}}"),
                Batch($"UPDATE \"{t}\" SET n = 5 WHERE pk = 'exists' AND n = 9"),
                Batch($"UPDATE \"{t}\" SET n = 7 WHERE pk = 'exists' RETURNING ALL NEW *"),
                Batch($"DELETE FROM \"{t}\" WHERE pk = ?"),
                Batch($"SLECT nonsense"),
                Batch($"DELETE FROM \"pq-never-created\" WHERE pk = 'x'"),
            ],
        });

        Assert.Equal(7, response.Responses.Count);
        Assert.Null(response.Responses[0].Error);
        Assert.Equal(t, response.Responses[0].TableName);
        Assert.Equal("DuplicateItem", response.Responses[1].Error.Code);
        Assert.Equal("Duplicate primary key exists in table", response.Responses[1].Error.Message);
        Assert.Equal("ConditionalCheckFailed", response.Responses[2].Error.Code);
        Assert.Equal("The conditional request failed", response.Responses[2].Error.Message);
        Assert.Null(response.Responses[3].Error);
        Assert.Equal("7", response.Responses[3].Item["n"].N);
        Assert.Equal("ValidationError", response.Responses[4].Error.Code);
        Assert.Equal("Number of parameters in request and statement don't match.", response.Responses[4].Error.Message);
        Assert.Equal("ValidationError", response.Responses[5].Error.Code);
        Assert.Equal("Statement wasn't well formed, can't be processed: Expected data manipulation", response.Responses[5].Error.Message);
        Assert.Equal("ResourceNotFound", response.Responses[6].Error.Code);
        Assert.Equal(t, Assert.Single(response.ConsumedCapacity).TableName);

        Assert.Equal("2", (await client.GetItemAsync(t, Key("new"), consistentRead: true)).Item["n"].N);
        Assert.Equal("7", (await client.GetItemAsync(t, Key("exists"), consistentRead: true)).Item["n"].N);
    }

    [Fact]
    public async Task Batch_OfReads_ReturnsOneItemPerStatement_AndNeedsTheFullKey()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-br", rangeType: ScalarAttributeType.S);
        await client.PutItemAsync(t, new() { ["pk"] = S("a"), ["sk"] = S("1"), ["v"] = S("one"), ["w"] = S("other") });

        var response = await client.BatchExecuteStatementAsync(new BatchExecuteStatementRequest
        {
            Statements =
            [
                Batch($"SELECT v FROM \"{t}\" WHERE pk = 'a' AND sk = ?", S("1")),
                Batch($"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk = '2'"),
                Batch($"SELECT * FROM \"{t}\" WHERE pk = 'a'"),
            ],
        });

        Assert.Equal(["v"], response.Responses[0].Item.Keys);
        Assert.Equal(t, response.Responses[1].TableName);
        Assert.True(response.Responses[1].Item is null or { Count: 0 });
        Assert.Equal("ValidationError", response.Responses[2].Error.Code);
        Assert.Equal("Where clause does not contain a mandatory equality on all key attributes", response.Responses[2].Error.Message);

        await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.BatchExecuteStatementAsync(new BatchExecuteStatementRequest
        {
            Statements = [Batch($"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk = '1'"), Batch($"DELETE FROM \"{t}\" WHERE pk = 'a' AND sk = '1'")],
        }));
        var tooMany = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.BatchExecuteStatementAsync(new BatchExecuteStatementRequest
        {
            Statements = [.. Enumerable.Range(0, 26).Select(i => Batch($"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk = '{i}'"))],
        }));
        Assert.Contains("Member must have length less than or equal to 25", tooMany.Message);
    }

    [Fact]
    public async Task Transaction_OfWrites_CommitsAll_OrCancelsWithReasons()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-tw");
        await client.PutItemAsync(t, new() { ["pk"] = S("acct"), ["bal"] = N("10") });
        await client.PutItemAsync(t, new() { ["pk"] = S("gone") });
        await client.PutItemAsync(t, new() { ["pk"] = S("other"), ["bal"] = N("1") });

        await client.ExecuteTransactionAsync(new ExecuteTransactionRequest
        {
            TransactStatements =
            [
                Tx($"INSERT INTO \"{t}\" VALUE {{'pk': 'new', 'bal': 0}}"),
                Tx($"UPDATE \"{t}\" SET bal = bal - ? WHERE pk = 'acct' AND bal >= ?", N("4"), N("4")),
                Tx($"DELETE FROM \"{t}\" WHERE pk = 'gone'"),
            ],
        });
        Assert.Equal("6", (await client.GetItemAsync(t, Key("acct"), consistentRead: true)).Item["bal"].N);
        Assert.True((await client.GetItemAsync(t, Key("new"), consistentRead: true)).IsItemSet);
        Assert.False((await client.GetItemAsync(t, Key("gone"), consistentRead: true)).IsItemSet);

        var canceled = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.ExecuteTransactionAsync(new ExecuteTransactionRequest
        {
            TransactStatements =
            [
                Tx($"UPDATE \"{t}\" SET bal = 100 WHERE pk = 'acct'"),
                Tx($"INSERT INTO \"{t}\" VALUE {{'pk': 'new'}}"),
                Tx($"EXISTS(SELECT * FROM \"{t}\" WHERE pk = 'other' AND bal > 1000)"),
                Tx($"UPDATE \"{t}\" SET x = 1 WHERE pk = 'missing'"),
            ],
        }));
        Assert.Equal("Transaction cancelled, please refer cancellation reasons for specific reasons [None, DuplicateItem, ConditionalCheckFailed, ConditionalCheckFailed]", canceled.Message);
        Assert.Equal(["None", "DuplicateItem", "ConditionalCheckFailed", "ConditionalCheckFailed"], canceled.CancellationReasons.Select(r => r.Code));
        Assert.Equal("Duplicate primary key exists in table", canceled.CancellationReasons[1].Message);
        Assert.Equal("6", (await client.GetItemAsync(t, Key("acct"), consistentRead: true)).Item["bal"].N);

        await client.ExecuteTransactionAsync(new ExecuteTransactionRequest
        {
            TransactStatements = [Tx($"EXISTS(SELECT * FROM \"{t}\" WHERE pk = 'acct' AND bal = 6)"), Tx($"UPDATE \"{t}\" SET seen = true WHERE pk = 'new'")],
        });
        Assert.True((await client.GetItemAsync(t, Key("new"), consistentRead: true)).Item["seen"].BOOL);
    }

    [Fact]
    public async Task Transaction_ClientRequestToken_MakesItRunOnce()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-tok");
        await client.PutItemAsync(t, new() { ["pk"] = S("c"), ["n"] = N("0") });
        var token = Guid.NewGuid().ToString();
        var request = new ExecuteTransactionRequest { ClientRequestToken = token, TransactStatements = [Tx($"UPDATE \"{t}\" SET n = n + 1 WHERE pk = 'c'")] };

        await client.ExecuteTransactionAsync(request);
        await client.ExecuteTransactionAsync(request);
        Assert.Equal("1", (await client.GetItemAsync(t, Key("c"), consistentRead: true)).Item["n"].N);

        await Assert.ThrowsAsync<IdempotentParameterMismatchException>(() => client.ExecuteTransactionAsync(new ExecuteTransactionRequest
        {
            ClientRequestToken = token, TransactStatements = [Tx($"UPDATE \"{t}\" SET n = n + 2 WHERE pk = 'c'")],
        }));
    }

    [Fact]
    public async Task Transaction_OfReads_ReturnsOneResponsePerStatement_AndRefusesMixedOrInvalidStatements()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-tr");
        await client.PutItemAsync(t, new() { ["pk"] = S("a"), ["v"] = S("x"), ["w"] = S("y") });

        var read = await client.ExecuteTransactionAsync(new ExecuteTransactionRequest
        {
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
            TransactStatements = [Tx($"SELECT v FROM \"{t}\" WHERE pk = 'a'"), Tx($"SELECT * FROM \"{t}\" WHERE pk = ?", S("none"))],
        });
        Assert.Equal(2, read.Responses.Count);
        Assert.Equal(["v"], read.Responses[0].Item.Keys);
        Assert.True(read.Responses[1].Item is null or { Count: 0 });
        Assert.Equal(t, Assert.Single(read.ConsumedCapacity).TableName);

        async Task<string> Refused(params ParameterizedStatement[] statements) =>
            (await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.ExecuteTransactionAsync(new ExecuteTransactionRequest { TransactStatements = [.. statements] }))).Message;

        Assert.Equal("ExecuteTransaction API does not support both read and write operations in the same request.",
            await Refused(Tx($"SELECT * FROM \"{t}\" WHERE pk = 'a'"), Tx($"DELETE FROM \"{t}\" WHERE pk = 'a'")));
        Assert.Equal("Validation failed in TransactStatements[0]: Select statements within ExecuteTransaction must specify the primary key in the where clause.",
            await Refused(Tx($"SELECT * FROM \"{t}\" WHERE v = 'x'")));
        Assert.Equal("Validation failed in TransactStatements[1]: RETURNING clause is not supported in ExecuteTransaction.",
            await Refused(Tx($"UPDATE \"{t}\" SET v = 'z' WHERE pk = 'b'"), Tx($"UPDATE \"{t}\" SET v = 'z' WHERE pk = 'a' RETURNING ALL NEW *")));
        Assert.Equal("Validation failed in TransactStatements[0]: Statement wasn't well formed, can't be processed: Unexpected term",
            await Refused(Tx($"SELECT * FROM \"{t}\" WHERE")));
        Assert.Equal("x", (await client.GetItemAsync(t, Key("a"), consistentRead: true)).Item["v"].S);
    }
}
