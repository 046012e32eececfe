using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.DataModel;
using Amazon.DynamoDBv2.DocumentModel;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Transactions;

[DynamoDBTable("wallets")]
public sealed class Wallet
{
    [DynamoDBHashKey("pk")]
    public string Id { get; set; } = "";

    public int Balance { get; set; }

    [DynamoDBVersion]
    public int? Version { get; set; }
}

/// <summary>TransactWriteItems and TransactGetItems through the AWS SDK: commit, rollback, reasons, limits, idempotency.</summary>
[Collection(SharedHostCollection.Name)]
public class TransactionTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [Fact]
    public async Task TransactWrite_AcrossTwoTables_CommitsEveryAction_AndCostsDoubleCapacity()
    {
        using var client = _host.CreateClient();
        var a = await CreateAsync(client, "txa");
        var b = await CreateAsync(client, "txb");
        await client.PutItemAsync(a, new() { ["pk"] = S("gone") });
        await client.PutItemAsync(b, new() { ["pk"] = S("acct"), ["bal"] = N("10") });

        var response = await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            ReturnConsumedCapacity = ReturnConsumedCapacity.INDEXES,
            TransactItems =
            [
                new() { Put = new Put { TableName = a, Item = new() { ["pk"] = S("new"), ["v"] = N("1") }, ConditionExpression = "attribute_not_exists(pk)" } },
                new() { Delete = new Delete { TableName = a, Key = Key("gone") } },
                new() { Update = new Update { TableName = b, Key = Key("acct"), UpdateExpression = "SET bal = bal + :d", ExpressionAttributeValues = new() { [":d"] = N("5") } } },
                new() { ConditionCheck = new ConditionCheck { TableName = b, Key = Key("other"), ConditionExpression = "attribute_not_exists(pk)" } },
            ],
        });

        Assert.Equal(4, response.ConsumedCapacity.Single(c => c.TableName == a).CapacityUnits); // two 1 KB writes, doubled
        var capB = response.ConsumedCapacity.Single(c => c.TableName == b);
        Assert.Equal(2, capB.WriteCapacityUnits);
        Assert.Equal(2, capB.ReadCapacityUnits); // the condition check: one strongly consistent read, doubled
        Assert.Equal(4, capB.Table.CapacityUnits);
        Assert.True((await client.GetItemAsync(a, Key("new"))).IsItemSet);
        Assert.False((await client.GetItemAsync(a, Key("gone"))).IsItemSet);
        Assert.Equal("15", (await client.GetItemAsync(b, Key("acct"))).Item["bal"].N);
    }

    [Fact]
    public async Task TransactWrite_WithOneFailedCondition_AppliesNothing_AndReportsReasonsInOrder()
    {
        using var client = _host.CreateClient();
        var a = await CreateAsync(client, "txa");
        var b = await CreateAsync(client, "txb");
        await client.PutItemAsync(a, new() { ["pk"] = S("x"), ["bal"] = N("100") });
        await client.PutItemAsync(b, new() { ["pk"] = S("y"), ["bal"] = N("5") });

        var e = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { Update = new Update { TableName = a, Key = Key("x"), UpdateExpression = "SET bal = bal - :v", ExpressionAttributeValues = new() { [":v"] = N("50") } } },
                new() { Update = new Update { TableName = b, Key = Key("y"), UpdateExpression = "SET bal = bal - :v", ConditionExpression = "bal >= :v",
                    ExpressionAttributeValues = new() { [":v"] = N("50") }, ReturnValuesOnConditionCheckFailure = Amazon.DynamoDBv2.ReturnValuesOnConditionCheckFailure.ALL_OLD } },
                new() { Put = new Put { TableName = b, Item = new() { ["pk"] = S("z") }, ConditionExpression = "attribute_exists(pk)" } },
                new() { Put = new Put { TableName = a, Item = new() { ["pk"] = S("w") } } },
            ],
        }));

        Assert.Equal("Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, ConditionalCheckFailed, None]", e.Message);
        Assert.Equal(["None", "ConditionalCheckFailed", "ConditionalCheckFailed", "None"], e.CancellationReasons.Select(r => r.Code));
        Assert.Equal("The conditional request failed", e.CancellationReasons[1].Message);
        Assert.Equal("5", e.CancellationReasons[1].Item["bal"].N); // ALL_OLD on failure
        Assert.True(e.CancellationReasons[2].Item is null || e.CancellationReasons[2].Item.Count == 0);
        Assert.Equal("100", (await client.GetItemAsync(a, Key("x"))).Item["bal"].N);
        Assert.False((await client.GetItemAsync(a, Key("w"))).IsItemSet);
    }

    [Fact]
    public async Task TransactWrite_UpdateThatWouldExceedTheItemSize_IsCancelledWithValidationError()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "txv");
        await client.PutItemAsync(t, new() { ["pk"] = S("big"), ["a"] = S(new string('a', 300 * 1024)) });
        var e = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { Put = new Put { TableName = t, Item = new() { ["pk"] = S("small") } } },
                new() { Update = new Update { TableName = t, Key = Key("big"), UpdateExpression = "SET b = :b", ExpressionAttributeValues = new() { [":b"] = S(new string('b', 200 * 1024)) } } },
            ],
        }));
        Assert.Equal(["None", "ValidationError"], e.CancellationReasons.Select(r => r.Code));
        Assert.Equal("Item size to update has exceeded the maximum allowed size", e.CancellationReasons[1].Message);
        Assert.False((await client.GetItemAsync(t, Key("small"))).IsItemSet);
    }

    [Fact]
    public async Task TransactWrite_Validation_UsesAwsMessages()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "txval");

        var duplicate = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { ConditionCheck = new ConditionCheck { TableName = t, Key = Key("a"), ConditionExpression = "attribute_not_exists(pk)" } },
                new() { Put = new Put { TableName = t, Item = new() { ["pk"] = S("a") } } },
            ],
        }));
        Assert.Equal("ValidationException", duplicate.ErrorCode);
        Assert.Equal("Transaction request cannot include multiple operations on one item", duplicate.Message);

        var tooMany = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems = Enumerable.Range(0, 101).Select(i => new TransactWriteItem { Put = new Put { TableName = t, Item = new() { ["pk"] = S($"k{i}") } } }).ToList(),
        }));
        Assert.Equal("ValidationException", tooMany.ErrorCode);
        Assert.StartsWith("1 validation error detected: Value '[com.amazonaws.dynamodb.v20120810.TransactWriteItem@", tooMany.Message);
        Assert.EndsWith("]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100", tooMany.Message);

        var hundred = await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems = Enumerable.Range(0, 100).Select(i => new TransactWriteItem { Put = new Put { TableName = t, Item = new() { ["pk"] = S($"k{i}") } } }).ToList(),
        });
        Assert.NotNull(hundred);

        var token = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            ClientRequestToken = new string('t', 37),
            TransactItems = [new() { Put = new Put { TableName = t, Item = new() { ["pk"] = S("z") } } }],
        }));
        Assert.Equal($"1 validation error detected: Value '{new string('t', 37)}' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36", token.Message);

        var missing = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems = [new() { Put = new Put { TableName = "no_such_table", Item = new() { ["pk"] = S("z") } } }],
        }));
        Assert.Equal("Requested resource not found", missing.Message);

        using var http = _host.CreateHttpClient();
        var two = await RawApi.PostAsync(http, "DynamoDB_20120810.TransactWriteItems",
            """{"TransactItems":[{"Put":{"TableName":"T","Item":{"pk":{"S":"q"}}},"Delete":{"TableName":"T","Key":{"pk":{"S":"q"}}}}]}""".Replace("\"T\"", $"\"{t}\""));
        Assert.Equal("TransactItems can only contain one of Check, Put, Update or Delete", two.Json().GetProperty("message").GetString());
        var empty = await RawApi.PostAsync(http, "DynamoDB_20120810.TransactWriteItems", """{"TransactItems":[]}""");
        Assert.Equal("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1", empty.Json().GetProperty("message").GetString());
        var noUpdate = await RawApi.PostAsync(http, "DynamoDB_20120810.TransactWriteItems", """{"TransactItems":[{"Update":{"TableName":"T","Key":{"pk":{"S":"q"}}}}]}""".Replace("\"T\"", $"\"{t}\""));
        Assert.Equal("1 validation error detected: Value null at 'transactItems.1.member.update.updateExpression' failed to satisfy constraint: Member must not be null", noUpdate.Json().GetProperty("message").GetString());
    }

    [Fact]
    public async Task TransactWrite_SameTokenTwice_AppliesOnce_AndDifferentParametersMismatch()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "txidem");
        var token = Guid.NewGuid().ToString();
        TransactWriteItemsRequest Increment(string by) => new()
        {
            ClientRequestToken = token,
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
            TransactItems = [new() { Update = new Update { TableName = t, Key = Key("c"), UpdateExpression = "ADD n :one", ExpressionAttributeValues = new() { [":one"] = N(by) } } }],
        };

        var first = await client.TransactWriteItemsAsync(Increment("1"));
        Assert.Equal(2, first.ConsumedCapacity[0].WriteCapacityUnits);
        var again = await client.TransactWriteItemsAsync(Increment("1"));
        Assert.Equal(2, again.ConsumedCapacity[0].ReadCapacityUnits); // a retry reads, it does not write
        Assert.Equal("1", (await client.GetItemAsync(t, Key("c"))).Item["n"].N);

        var mismatch = await Assert.ThrowsAsync<IdempotentParameterMismatchException>(() => client.TransactWriteItemsAsync(Increment("2")));
        Assert.Equal("IdempotentParameterMismatchException", mismatch.ErrorCode);
        Assert.Equal("1", (await client.GetItemAsync(t, Key("c"))).Item["n"].N);

        // A cancelled transaction does not use up its token.
        var other = Guid.NewGuid().ToString();
        var failing = new TransactWriteItemsRequest
        {
            ClientRequestToken = other,
            TransactItems = [new() { Put = new Put { TableName = t, Item = new() { ["pk"] = S("d") }, ConditionExpression = "attribute_exists(pk)" } }],
        };
        await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactWriteItemsAsync(failing));
        await client.PutItemAsync(t, new() { ["pk"] = S("d"), ["v"] = S("old") });
        await client.TransactWriteItemsAsync(failing);
        Assert.False((await client.GetItemAsync(t, Key("d"))).Item.ContainsKey("v"));
    }

    [Fact]
    public async Task TransactGet_ReadsItemsOfSeveralTables_WithProjection_AndDoubleCapacity()
    {
        using var client = _host.CreateClient();
        var a = await CreateAsync(client, "txga");
        var b = await CreateAsync(client, "txgb");
        await client.PutItemAsync(a, new() { ["pk"] = S("1"), ["x"] = S("a1"), ["y"] = S("hidden") });
        await client.PutItemAsync(b, new() { ["pk"] = S("2"), ["x"] = S("b2") });
        var response = await client.TransactGetItemsAsync(new TransactGetItemsRequest
        {
            ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
            TransactItems =
            [
                new() { Get = new Get { TableName = a, Key = Key("1"), ProjectionExpression = "#x", ExpressionAttributeNames = new() { ["#x"] = "x" } } },
                new() { Get = new Get { TableName = b, Key = Key("2") } },
                new() { Get = new Get { TableName = b, Key = Key("missing") } },
            ],
        });
        Assert.Equal(["x"], response.Responses[0].Item.Keys);
        Assert.Equal("b2", response.Responses[1].Item["x"].S);
        Assert.True(response.Responses[2].Item is null || response.Responses[2].Item.Count == 0);
        Assert.Equal(2, response.ConsumedCapacity.Single(c => c.TableName == a).ReadCapacityUnits);
        Assert.Equal(4, response.ConsumedCapacity.Single(c => c.TableName == b).ReadCapacityUnits);

        var duplicate = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.TransactGetItemsAsync(new TransactGetItemsRequest
        {
            TransactItems = [new() { Get = new Get { TableName = a, Key = Key("1") } }, new() { Get = new Get { TableName = a, Key = Key("1") } }],
        }));
        Assert.Equal("Transaction request cannot include multiple operations on one item", duplicate.Message);
        var tooMany = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.TransactGetItemsAsync(new TransactGetItemsRequest
        {
            TransactItems = Enumerable.Range(0, 101).Select(i => new TransactGetItem { Get = new Get { TableName = a, Key = Key($"k{i}") } }).ToList(),
        }));
        Assert.Contains("at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100", tooMany.Message);
    }

    [Fact]
    public async Task DocumentModel_TransactWriteAcrossTables_CommitsAndRollsBack()
    {
        using var client = _host.CreateClient();
        var a = await CreateAsync(client, "txdoc");
        var b = await CreateAsync(client, "txdoc");
        var ta = new TableBuilder(client, a).AddHashKey("pk", DynamoDBEntryType.String).Build();
        var tb = new TableBuilder(client, b).AddHashKey("pk", DynamoDBEntryType.String).Build();

        var wa = ta.CreateTransactWrite();
        wa.AddDocumentToPut(new Document { ["pk"] = "p1", ["n"] = 1 });
        var wb = tb.CreateTransactWrite();
        wb.AddDocumentToPut(new Document { ["pk"] = "p2", ["n"] = 2 });
        await wa.Combine(wb).ExecuteAsync();
        Assert.Equal(1, (await ta.GetItemAsync("p1"))["n"].AsInt());
        Assert.Equal(2, (await tb.GetItemAsync("p2"))["n"].AsInt());

        var fa = ta.CreateTransactWrite();
        fa.AddKeyToDelete("p1");
        var fb = tb.CreateTransactWrite();
        fb.AddDocumentToPut(new Document { ["pk"] = "p2", ["n"] = 3 }, new TransactWriteItemOperationConfig
        {
            ConditionalExpression = new Expression { ExpressionStatement = "n = :n", ExpressionAttributeValues = new() { [":n"] = 99 } },
        });
        await Assert.ThrowsAsync<TransactionCanceledException>(() => fa.Combine(fb).ExecuteAsync());
        Assert.NotNull(await ta.GetItemAsync("p1"));
        Assert.Equal(2, (await tb.GetItemAsync("p2"))["n"].AsInt());
    }

    [Fact]
    public async Task DataModel_TransactWrite_SavesWithVersionChecks_AndRejectsAStaleVersion()
    {
        using var client = _host.CreateClient();
        var prefix = $"txctx-{Guid.NewGuid():N}-";
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = prefix + "wallets",
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
        });
        using var context = new DynamoDBContextBuilder().WithDynamoDBClient(() => client).ConfigureContext(c => c.TableNamePrefix = prefix).Build();

        var write = context.CreateTransactWrite<Wallet>();
        write.AddSaveItems([new Wallet { Id = "alice", Balance = 70 }, new Wallet { Id = "bob", Balance = 30 }]);
        await write.ExecuteAsync();

        var alice = await context.LoadAsync<Wallet>("alice");
        var bob = await context.LoadAsync<Wallet>("bob");
        Assert.Equal(0, alice.Version);
        alice.Balance -= 20;
        bob.Balance += 20;
        var transfer = context.CreateTransactWrite<Wallet>();
        transfer.AddSaveItems([alice, bob]);
        await transfer.ExecuteAsync();

        var get = context.CreateTransactGet<Wallet>();
        get.AddKey("alice");
        get.AddKey("bob");
        await get.ExecuteAsync();
        Assert.Equal([50, 50], get.Results.OrderBy(w => w.Id).Select(w => w.Balance));
        Assert.All(get.Results, w => Assert.Equal(1, w.Version));

        var stale = new Wallet { Id = "alice", Balance = 0, Version = 0 };
        var rejected = context.CreateTransactWrite<Wallet>();
        rejected.AddSaveItems([stale, new Wallet { Id = "carol", Balance = 1 }]);
        var e = await Assert.ThrowsAsync<TransactionCanceledException>(() => rejected.ExecuteAsync());
        Assert.Equal("ConditionalCheckFailed", e.CancellationReasons[0].Code);
        Assert.Null(await context.LoadAsync<Wallet>("carol"));
        Assert.Equal(50, (await context.LoadAsync<Wallet>("alice")).Balance);
    }
}
