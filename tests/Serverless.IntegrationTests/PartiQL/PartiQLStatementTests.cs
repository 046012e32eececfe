using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.PartiQL;

/// <summary>ExecuteStatement through the AWS SDK: every statement kind, parameters, paging, indexes, ORDER BY, RETURNING and AWS's messages.</summary>
[Collection(SharedHostCollection.Name)]
public sealed class PartiQLStatementTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    private static Task<ExecuteStatementResponse> Run(IAmazonDynamoDB client, string statement, params AttributeValue[] parameters) =>
        client.ExecuteStatementAsync(new ExecuteStatementRequest { Statement = statement, Parameters = parameters.Length == 0 ? null : [.. parameters] });

    private static async Task<string> Rejected<T>(Func<Task> action)
        where T : AmazonDynamoDBException => (await Assert.ThrowsAsync<T>(action)).Message;

    [Fact]
    public async Task Insert_Select_Update_Delete_RoundTripThroughTheItemApi()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-crud");

        var inserted = await Run(client, $"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'n': 1, 'tags': <<'x', 'y'>>, 'm': {{'k': [1, 'two', true, null]}}}}");
        Assert.Empty(inserted.Items);
        var item = (await client.GetItemAsync(t, Key("a"), consistentRead: true)).Item;
        Assert.Equal("1", item["n"].N);
        Assert.Equal(["x", "y"], item["tags"].SS.Order());
        Assert.Equal("two", item["m"].M["k"].L[1].S);
        Assert.True(item["m"].M["k"].L[2].BOOL);
        Assert.True(item["m"].M["k"].L[3].NULL);

        var selected = await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'a'");
        Assert.Single(selected.Items);
        Assert.Equal("1", selected.Items[0]["n"].N);

        await Run(client, $"UPDATE \"{t}\" SET n = n + 5, s = 'new' SET tags = set_add(tags, <<'z'>>) REMOVE m WHERE pk = 'a'");
        item = (await client.GetItemAsync(t, Key("a"), consistentRead: true)).Item;
        Assert.Equal("6", item["n"].N);
        Assert.Equal("new", item["s"].S);
        Assert.Equal(["x", "y", "z"], item["tags"].SS.Order());
        Assert.False(item.ContainsKey("m"));

        await Run(client, $"UPDATE \"{t}\" SET tags = set_delete(tags, <<'x'>>), l = list_append([1], [2]) WHERE pk = 'a'");
        item = (await client.GetItemAsync(t, Key("a"), consistentRead: true)).Item;
        Assert.Equal(["y", "z"], item["tags"].SS.Order());
        Assert.Equal(2, item["l"].L.Count);

        var deleted = await Run(client, $"DELETE FROM \"{t}\" WHERE pk = 'a'");
        Assert.Empty(deleted.Items);
        Assert.False((await client.GetItemAsync(t, Key("a"), consistentRead: true)).IsItemSet);
        await Run(client, $"DELETE FROM \"{t}\" WHERE pk = 'a'"); // deleting a missing item succeeds
    }

    [Fact]
    public async Task Insert_OfAnExistingKey_IsDuplicateItemException()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-dup");
        await Run(client, $"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'v': 'first'}}");
        var e = await Assert.ThrowsAsync<DuplicateItemException>(() => Run(client, $"INSERT INTO \"{t}\" VALUE {{'pk': 'a', 'v': 'second'}}"));
        Assert.Equal("Duplicate primary key exists in table", e.Message);
        Assert.Equal("first", (await client.GetItemAsync(t, Key("a"), consistentRead: true)).Item["v"].S);
    }

    [Fact]
    public async Task Writes_WithConditions_FailWithConditionalCheckFailed_AndUpdateOfAMissingItemFails()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-cond");
        await client.PutItemAsync(t, new() { ["pk"] = S("a"), ["name"] = S("alpha"), ["n"] = N("5") });

        await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => Run(client, $"UPDATE \"{t}\" SET n = 9 WHERE pk = 'a' AND \"name\" = 'beta'"));
        await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => Run(client, $"DELETE FROM \"{t}\" WHERE pk = 'a' AND NOT begins_with(\"name\", 'al')"));
        await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => Run(client, $"UPDATE \"{t}\" SET n = 1 WHERE pk = 'missing'"));
        Assert.False((await client.GetItemAsync(t, Key("missing"), consistentRead: true)).IsItemSet);
        Assert.Equal("5", (await client.GetItemAsync(t, Key("a"), consistentRead: true)).Item["n"].N);

        await Run(client, $"UPDATE \"{t}\" SET n = 9 WHERE pk = 'a' AND \"name\" = 'alpha' AND n BETWEEN 1 AND 5 AND size(\"name\") = 5");
        Assert.Equal("9", (await client.GetItemAsync(t, Key("a"), consistentRead: true)).Item["n"].N);
        await Run(client, $"DELETE FROM \"{t}\" WHERE pk = 'missing' AND \"name\" = 'x'"); // the condition of a missing item is not evaluated

        var failed = await Assert.ThrowsAsync<ConditionalCheckFailedException>(() => client.ExecuteStatementAsync(new ExecuteStatementRequest
        {
            Statement = $"UPDATE \"{t}\" SET n = 1 WHERE pk = 'a' AND n = 0",
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        }));
        Assert.Equal("9", failed.Item["n"].N);
    }

    [Fact]
    public async Task Parameters_BindInOrder_AndTooFewAreRefused()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-param", rangeType: ScalarAttributeType.N);
        await Run(client, $"INSERT INTO \"{t}\" VALUE {{'pk': ?, 'sk': ?, 'm': {{'inner': ?}}, 'l': [?, 'lit']}}", S("p"), N("1"), S("deep"), N("7"));
        var item = (await client.GetItemAsync(t, new() { ["pk"] = S("p"), ["sk"] = N("1") }, consistentRead: true)).Item;
        Assert.Equal("deep", item["m"].M["inner"].S);
        Assert.Equal("7", item["l"].L[0].N);

        var found = await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = ? AND sk = ?", S("p"), N("1"));
        Assert.Single(found.Items);
        var message = await Rejected<AmazonDynamoDBException>(() => Run(client, $"SELECT * FROM \"{t}\" WHERE pk = ? AND sk = ?", S("p")));
        Assert.Equal("Number of parameters in request and statement don't match.", message);
        // More values than ? are accepted, as AWS does.
        Assert.Single((await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = ?", S("p"), S("extra"))).Items);
        var wrongType = await Rejected<AmazonDynamoDBException>(() => Run(client, $"SELECT * FROM \"{t}\" WHERE pk = ? AND sk = ?", S("p"), S("1")));
        Assert.Equal("Key attribute's data type should match its data type in table's schema: Key sk", wrongType);
    }

    [Fact]
    public async Task Select_WithKeyConditions_Filters_Projections_AndInOverPartitions()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-sel", rangeType: ScalarAttributeType.N);
        foreach (var pk in new[] { "a", "b", "c" })
        {
            for (var i = 1; i <= 5; i++)
            {
                await client.PutItemAsync(t, new()
                {
                    ["pk"] = S(pk), ["sk"] = N(i.ToString()), ["kind"] = S(i % 2 == 0 ? "even" : "odd"),
                    ["doc"] = new AttributeValue { M = new() { ["list"] = new AttributeValue { L = [N("10"), N(i.ToString())] }, ["name"] = S("n" + i) } },
                });
            }
        }

        Assert.Equal(3, (await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk >= 3")).Items.Count);
        Assert.Equal(3, (await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk BETWEEN 2 AND 4")).Items.Count);
        Assert.Equal(2, (await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'a' AND sk > 1 AND sk < 4")).Items.Count);
        Assert.Equal(2, (await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'a' AND kind = 'even'")).Items.Count);
        Assert.Equal(6, (await Run(client, $"SELECT * FROM \"{t}\" WHERE pk IN ['a', 'b'] AND kind = 'odd'")).Items.Count);
        Assert.Equal(4, (await Run(client, $"SELECT * FROM \"{t}\" WHERE sk = 1 OR sk = 2 AND pk = 'c'")).Items.Count); // a Scan: sk = 1 OR (sk = 2 AND pk = 'c')
        Assert.Equal(15, (await Run(client, $"SELECT * FROM \"{t}\"")).Items.Count);
        // A top-level OR of branches that each fix the partition runs as one Query per partition.
        var ored = await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'c' AND sk > 3 OR pk = 'a' AND sk = 1 ORDER BY pk DESC");
        Assert.Equal(["c4", "c5", "a1"], ored.Items.Select(i => i["pk"].S + i["sk"].N));
        // Branches on one partition without sort-key conditions merge into one Query: (odd or n2) in a, all of c.
        Assert.Equal(9, (await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'a' AND kind = 'odd' OR pk = 'a' AND doc.\"name\" = 'n2' OR pk = 'c'")).Items.Count);
        Assert.Equal("Overlapping conditions with range keys are not supported in where clause",
            (await Assert.ThrowsAsync<AmazonDynamoDBException>(() => Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'a' AND kind = 'odd' OR pk = 'a' AND sk = 2"))).Message);
        Assert.Equal(3, (await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'b' AND (kind = 'odd' OR NOT sk <> 2) AND NOT kind = 'x' AND sk IN (1, 2, 3)")).Items.Count);
        Assert.Equal(5, (await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'a' AND doc.\"name\" IS NOT MISSING AND missingattr IS MISSING")).Items.Count);
        Assert.Equal(5, (await Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'a' AND attribute_type(kind, 'S') AND contains(doc.list, 10) AND doc IS STRUCT")).Items.Count);

        var projected = await Run(client, $"SELECT sk, doc.\"name\", doc.list[1] FROM \"{t}\" WHERE pk = 'a' AND sk = 2");
        var row = Assert.Single(projected.Items);
        Assert.Equal(["list", "name", "sk"], row.Keys.Order());
        Assert.Equal("n2", row["name"].S);
        Assert.Equal("2", row["list"].N);

        var top = Assert.Single((await Run(client, $"SELECT kind, \"sk\" FROM \"{t}\" WHERE pk = 'c' AND sk = 5")).Items);
        Assert.Equal(["kind", "sk"], top.Keys.Order());
    }

    [Fact]
    public async Task Select_PagesWithLimitAndNextToken_AcrossPartitions()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-page", rangeType: ScalarAttributeType.N);
        foreach (var pk in new[] { "a", "b" })
            for (var i = 1; i <= 5; i++) await client.PutItemAsync(t, new() { ["pk"] = S(pk), ["sk"] = N(i.ToString()) });

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await client.ExecuteStatementAsync(new ExecuteStatementRequest
            {
                Statement = $"SELECT * FROM \"{t}\" WHERE pk IN ('a', 'b') ORDER BY pk DESC, sk DESC", Limit = 3, NextToken = token,
            });
            Assert.True(page.Items.Count <= 3);
            seen.AddRange(page.Items.Select(i => i["pk"].S + i["sk"].N));
            token = page.NextToken;
            pages++;
        }
        while (token != null && pages < 10);

        Assert.Equal(["b5", "b4", "b3", "b2", "b1", "a5", "a4", "a3", "a2", "a1"], seen);

        // A scan pages as well.
        var scanned = 0;
        token = null;
        do
        {
            var page = await client.ExecuteStatementAsync(new ExecuteStatementRequest { Statement = $"SELECT * FROM \"{t}\"", Limit = 4, NextToken = token });
            scanned += page.Items.Count;
            token = page.NextToken;
        }
        while (token != null);

        Assert.Equal(10, scanned);

        var invalid = await Rejected<AmazonDynamoDBException>(() => client.ExecuteStatementAsync(new ExecuteStatementRequest { Statement = $"SELECT * FROM \"{t}\"", NextToken = "bm90IGEgdG9rZW4=" }));
        Assert.Equal("Invalid NextToken", invalid);
        var first = await client.ExecuteStatementAsync(new ExecuteStatementRequest { Statement = $"SELECT * FROM \"{t}\"", Limit = 2 });
        Assert.Equal(2, first.Items.Count);
        Assert.Equal(first.Items[1]["pk"].S, first.LastEvaluatedKey["pk"].S);
        var mismatch = await Rejected<AmazonDynamoDBException>(() => client.ExecuteStatementAsync(new ExecuteStatementRequest
        {
            Statement = $"SELECT * FROM \"{t}\" WHERE pk = 'a'", NextToken = first.NextToken,
        }));
        Assert.Equal("NextToken does not match request", mismatch);
    }

    [Fact]
    public async Task Select_FromAnIndex_OrderBySortKey_ConsistentRead_AndCapacity()
    {
        using var client = _host.CreateClient();
        var t = NewName("pq-idx");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = t, BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new("pk", KeyType.HASH)],
            AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("g", ScalarAttributeType.S), new("r", ScalarAttributeType.N)],
            GlobalSecondaryIndexes = [new() { IndexName = "byG", KeySchema = [new("g", KeyType.HASH), new("r", KeyType.RANGE)], Projection = new() { ProjectionType = ProjectionType.ALL } }],
        });
        for (var i = 1; i <= 4; i++) await client.PutItemAsync(t, new() { ["pk"] = S("p" + i), ["g"] = S("grp"), ["r"] = N(i.ToString()) });

        var ascending = await Run(client, $"SELECT * FROM \"{t}\".\"byG\" WHERE g = 'grp' ORDER BY r");
        Assert.Equal(["1", "2", "3", "4"], ascending.Items.Select(i => i["r"].N));
        var descending = await Run(client, $"SELECT pk FROM \"{t}\".byG WHERE g = 'grp' AND r > 1 ORDER BY r DESC");
        Assert.Equal(["p4", "p3", "p2"], descending.Items.Select(i => i["pk"].S));

        var gsiConsistent = await Rejected<AmazonDynamoDBException>(() => client.ExecuteStatementAsync(new ExecuteStatementRequest
        {
            Statement = $"SELECT * FROM \"{t}\".\"byG\" WHERE g = 'grp'", ConsistentRead = true,
        }));
        Assert.Equal("Strongly consistent read is not supported on Global Secondary Indexes", gsiConsistent);

        var consistent = await client.ExecuteStatementAsync(new ExecuteStatementRequest
        {
            Statement = $"SELECT * FROM \"{t}\" WHERE pk = 'p1'", ConsistentRead = true, ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        });
        Assert.Single(consistent.Items);
        Assert.Equal(t, consistent.ConsumedCapacity.TableName);
        Assert.Equal(1.0, consistent.ConsumedCapacity.CapacityUnits);

        var write = await client.ExecuteStatementAsync(new ExecuteStatementRequest
        {
            Statement = $"UPDATE \"{t}\" SET x = 1 WHERE pk = 'p1'", ReturnConsumedCapacity = ReturnConsumedCapacity.TOTAL,
        });
        Assert.Equal(1.0, write.ConsumedCapacity.WriteCapacityUnits);

        Assert.Equal("Variable reference g in ORDER BY clause must be part of the primary key",
            await Rejected<AmazonDynamoDBException>(() => Run(client, $"SELECT * FROM \"{t}\" WHERE pk = 'p1' ORDER BY g")));
        Assert.Equal("Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.",
            await Rejected<AmazonDynamoDBException>(() => Run(client, $"SELECT * FROM \"{t}\" WHERE x = 1 ORDER BY pk")));
        Assert.Equal("Must have WHERE clause in the statement when using ORDER BY clause.",
            await Rejected<AmazonDynamoDBException>(() => Run(client, $"SELECT * FROM \"{t}\" ORDER BY pk")));
    }

    [Fact]
    public async Task Returning_GivesTheOldOrNewItem_OrTheModifiedAttributes()
    {
        using var client = _host.CreateClient();
        var t = await CreateAsync(client, "pq-ret");
        await client.PutItemAsync(t, new() { ["pk"] = S("a"), ["data"] = S("old"), ["keep"] = S("same") });

        var allOld = Assert.Single((await Run(client, $"UPDATE \"{t}\" SET data = 'new' WHERE pk = 'a' RETURNING ALL OLD *")).Items);
        Assert.Equal(["data", "keep", "pk"], allOld.Keys.Order());
        Assert.Equal("old", allOld["data"].S);
        var modifiedOld = Assert.Single((await Run(client, $"UPDATE \"{t}\" SET data = 'newer' WHERE pk = 'a' RETURNING MODIFIED OLD *")).Items);
        Assert.Equal(["data"], modifiedOld.Keys);
        Assert.Equal("new", modifiedOld["data"].S);
        var allNew = Assert.Single((await Run(client, $"UPDATE \"{t}\" SET data = 'newest' WHERE pk = 'a' RETURNING ALL NEW *")).Items);
        Assert.Equal("newest", allNew["data"].S);
        Assert.Equal("same", allNew["keep"].S);
        var modifiedNew = Assert.Single((await Run(client, $"UPDATE \"{t}\" SET data = 'last' WHERE pk = 'a' RETURNING MODIFIED NEW *")).Items);
        Assert.Equal(["data"], modifiedNew.Keys);
        Assert.Empty((await Run(client, $"UPDATE \"{t}\" REMOVE data WHERE pk = 'a' RETURNING MODIFIED NEW *")).Items);

        var deleted = Assert.Single((await Run(client, $"DELETE FROM \"{t}\" WHERE pk = 'a' RETURNING ALL OLD *")).Items);
        Assert.Equal("same", deleted["keep"].S);
        Assert.Empty((await Run(client, $"DELETE FROM \"{t}\" WHERE pk = 'a' RETURNING ALL OLD *")).Items);

        Assert.Equal("Invalid returning clause: RETURNING MODIFIED OLD *. Only RETURNING ALL OLD * is allowed in DELETE statements.",
            await Rejected<AmazonDynamoDBException>(() => Run(client, $"DELETE FROM \"{t}\" WHERE pk = 'a' RETURNING MODIFIED OLD *")));
    }

    [Theory]
    [InlineData("SLECT * FROM \"{0}\"", "Statement wasn't well formed, can't be processed: Expected data manipulation")]
    [InlineData("SELECT * FROM \"{0}\" WHERE pk = 'a' foo", "Statement wasn't well formed, can't be processed: Unexpected token after expression")]
    [InlineData("SELECT * FROM \"{0}\" WHERE pk = 'a')", "Statement wasn't well formed, can't be processed: Unexpected token after expression")]
    [InlineData("SELECT * FROM \"{0}\" WHERE", "Statement wasn't well formed, can't be processed: Unexpected term")]
    [InlineData("SELECT * FROM \"{0}\" WHERE pk = 'a' AND", "Statement wasn't well formed, can't be processed: Missing right-hand side expression of infix operator")]
    [InlineData("SELECT * FROM \"{0}\" WHERE ORDER BY pk", "Statement wasn't well formed, can't be processed: Unexpected keyword")]
    [InlineData("SELECT * FROM \"{0}\" WHERE pk = 'a' AND x IS FOO", "Statement wasn't well formed, can't be processed: Expected type name")]
    [InlineData("SELECT * FROM \"{0}\" WHERE IS NULL", "Statement wasn't well formed, can't be processed: Unexpected operator")]
    [InlineData("DELETE FROM", "Statement wasn't well formed, can't be processed: Expected identifier for simple path")]
    [InlineData("SELECT * FROM \"{0}\" WHERE pk = 1 /* note", "Statement wasn't well formed, can't be processed: ")]
    [InlineData("SELECT * FROM \"{0}\" t WHERE pk = 'x'", "Aliasing is not supported")]
    [InlineData("SELECT * FROM \"{0}\" WHERE pk = 1e126", "Number overflow. Attempting to store a number with magnitude larger than supported range under root")]
    [InlineData("INSERT INTO \"{0}\" VALUE {{'pk': 'x', 'm': {{'x': 1e126}}}}", "Number overflow. Attempting to store a number with magnitude larger than supported range under root.m.x")]
    [InlineData("DELETE FROM \"{0}\" WHERE \"name\" = 'alpha'", "Where clause does not contain a mandatory equality on all key attributes")]
    [InlineData("UPDATE \"{0}\" SET a = 1", "Where clause does not contain a mandatory equality on all key attributes")]
    [InlineData("INSERT INTO \"{0}\" VALUE {{'v': 1}}", "Key attribute should be present in the item: Key pk")]
    [InlineData("INSERT INTO \"{0}\" VALUE {{'pk': 'x', 't': <<>>}}", "Empty bags are not supported")]
    [InlineData("SELECT *, pk FROM \"{0}\"", "Other attributes should not be present in the projection when '*' is used.")]
    [InlineData("SELECT * FROM \"{0}\" WHERE a = MISSING", "MISSING must be compared using IS operator")]
    public async Task MalformedStatements_GetAwsMessages(string statement, string message)
    {
        using var client = _host.CreateClient();
        var t = await SharedAsync(_host, "pq-errors");
        var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => Run(client, string.Format(statement, t)));
        Assert.Equal("ValidationException", e.ErrorCode);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public async Task UnknownTable_IsResourceNotFound()
    {
        using var client = _host.CreateClient();
        var e = await Assert.ThrowsAsync<ResourceNotFoundException>(() => Run(client, "SELECT * FROM \"pq-never-created\" WHERE pk = 'a'"));
        Assert.Equal("Requested resource not found", e.Message);
    }
}
