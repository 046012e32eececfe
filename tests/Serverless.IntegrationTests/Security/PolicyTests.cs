using System.Net;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using static Serverless.IntegrationTests.Security.PolicyHostFixture;

namespace Serverless.IntegrationTests.Security;

/// <summary>
/// Identity and resource policies through AWSSDK.DynamoDBv2 with real signed requests: every denial is checked for
/// AWS's error code, exact message and status.
/// </summary>
[Collection(PolicyHostCollection.Name)]
public sealed class PolicyTests(PolicyHostFixture fixture)
{
    private static Dictionary<string, AttributeValue> Key(string pk, int sk = 1) => new() { ["pk"] = new(pk), ["sk"] = new() { N = sk.ToString() } };

    private static string NoAllow(PolicyKey key, string action, string resource) =>
        $"User: {User(key.User)} is not authorized to perform: dynamodb:{action} on resource: {resource} because no identity-based policy allows the dynamodb:{action} action";

    private static string IdentityDeny(PolicyKey key, string action, string resource) =>
        $"User: {User(key.User)} is not authorized to perform: dynamodb:{action} on resource: {resource} with an explicit deny in an identity-based policy";

    private static string ResourceDeny(PolicyKey key, string action, string resource) =>
        $"User: {User(key.User)} is not authorized to perform: dynamodb:{action} on resource: {resource} with an explicit deny in a resource-based policy";

    private static async Task DeniedAsync(Func<Task> call, string message)
    {
        var e = await Assert.ThrowsAnyAsync<AmazonServiceException>(call);
        Assert.Equal("AccessDeniedException", e.ErrorCode);
        Assert.Equal(message, e.Message);
        Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
    }

    [Fact]
    public async Task Allow_WithWildcards_AndImplicitDeny()
    {
        using var admin = fixture.Client(Admin);
        await admin.PutItemAsync(Music, new Dictionary<string, AttributeValue>(Key("r1")) { ["v"] = new("x") });
        using var reader = fixture.Client(Reader);
        Assert.Equal("x", (await reader.GetItemAsync(Music, Key("r1"))).Item["v"].S);
        await reader.DescribeTableAsync(Music);
        await DeniedAsync(() => reader.PutItemAsync(Music, Key("r2")), NoAllow(Reader, "PutItem", Arn(Music)));

        // Get* does not cover BatchGetItem, and nothing allows ListTables.
        await DeniedAsync(() => reader.BatchGetItemAsync(new Dictionary<string, KeysAndAttributes> { [Music] = new() { Keys = [Key("r1")] } }),
            NoAllow(Reader, "BatchGetItem", Arn(Music)));
        await DeniedAsync(() => reader.ListTablesAsync(new ListTablesRequest()), NoAllow(Reader, "ListTables", "*"));
    }

    [Fact]
    public async Task PartiQL_NeedsThePartiQLActions()
    {
        // The reader may GetItem and Query, but PartiQL is checked on its own actions.
        using var reader = fixture.Client(Reader);
        await DeniedAsync(() => reader.ExecuteStatementAsync(new ExecuteStatementRequest { Statement = $"SELECT * FROM \"{Music}\" WHERE pk = 'r1'" }),
            NoAllow(Reader, "PartiQLSelect", Arn(Music)));
        using var ops = fixture.Client(Ops);
        await ops.ExecuteStatementAsync(new ExecuteStatementRequest { Statement = $"INSERT INTO \"{Shared}\" VALUE {{'pk': 'partiql', 'sk': 1}}" });

        // NotAction dynamodb:Delete* does not cover dynamodb:PartiQLDelete: the PartiQL DELETE is allowed.
        await ops.ExecuteStatementAsync(new ExecuteStatementRequest { Statement = $"DELETE FROM \"{Shared}\" WHERE pk = 'partiql' AND sk = 1" });
        await DeniedAsync(() => ops.DeleteItemAsync(Shared, Key("partiql")), NoAllow(Ops, "DeleteItem", Arn(Shared)));
    }

    [Fact]
    public async Task ExplicitDeny_BeatsTheWildcardAllow()
    {
        using var reader = fixture.Client(Reader);
        await reader.ScanAsync(new ScanRequest { TableName = Music });
        await reader.QueryAsync(new QueryRequest
        {
            TableName = Secret, KeyConditionExpression = "pk = :p", ExpressionAttributeValues = new() { [":p"] = new("a") },
        });
        await DeniedAsync(() => reader.ScanAsync(new ScanRequest { TableName = Secret }), IdentityDeny(Reader, "Scan", Arn(Secret)));
    }

    [Fact]
    public async Task NotAction_AllowsAllButTheListedActions()
    {
        using var ops = fixture.Client(Ops);
        await ops.PutItemAsync(Shared, Key("ops"));
        await ops.UpdateItemAsync(new UpdateItemRequest { TableName = Shared, Key = Key("ops"), UpdateExpression = "SET v = :v", ExpressionAttributeValues = new() { [":v"] = new("1") } });
        await ops.ListTablesAsync(new ListTablesRequest());
        await DeniedAsync(() => ops.DeleteItemAsync(Shared, Key("ops")), NoAllow(Ops, "DeleteItem", Arn(Shared)));
        await DeniedAsync(() => ops.DeleteTableAsync(Shared), NoAllow(Ops, "DeleteTable", Arn(Shared)));
    }

    [Fact]
    public async Task LeadingKeys_LimitAliceToHerOwnPartition()
    {
        using var alice = fixture.Client(Alice);
        await alice.PutItemAsync(Music, new Dictionary<string, AttributeValue>(Key("alice")) { ["song"] = new("mine") });
        Assert.Equal("mine", (await alice.GetItemAsync(Music, Key("alice"))).Item["song"].S);
        var query = await alice.QueryAsync(new QueryRequest
        {
            TableName = Music, KeyConditionExpression = "pk = :p", ExpressionAttributeValues = new() { [":p"] = new("alice") },
        });
        Assert.Equal(1, query.Count);

        await DeniedAsync(() => alice.PutItemAsync(Music, Key("bob")), NoAllow(Alice, "PutItem", Arn(Music)));
        await DeniedAsync(() => alice.GetItemAsync(Music, Key("bob")), NoAllow(Alice, "GetItem", Arn(Music)));
        await DeniedAsync(() => alice.QueryAsync(new QueryRequest
        {
            TableName = Music, KeyConditionExpression = "pk = :p", ExpressionAttributeValues = new() { [":p"] = new("bob") },
        }), NoAllow(Alice, "Query", Arn(Music)));

        // Her policy is on one table: the same partition elsewhere is not hers.
        await DeniedAsync(() => alice.PutItemAsync(Shared, Key("alice")), NoAllow(Alice, "PutItem", Arn(Shared)));
    }

    [Fact]
    public async Task Batches_CheckTheBatchActionPerTable_WithEveryItemsLeadingKey()
    {
        using var alice = fixture.Client(Alice);
        await alice.BatchWriteItemAsync(new Dictionary<string, List<WriteRequest>>
        {
            [Music] = [new(new PutRequest(Key("alice", 10))), new(new PutRequest(Key("alice", 11))), new(new DeleteRequest(Key("alice", 12)))],
        });
        var got = await alice.BatchGetItemAsync(new Dictionary<string, KeysAndAttributes> { [Music] = new() { Keys = [Key("alice", 10), Key("alice", 11)] } });
        Assert.Equal(2, got.Responses[Music].Count);

        // One foreign key in the batch denies the whole request, and nothing of it is written.
        await DeniedAsync(() => alice.BatchWriteItemAsync(new Dictionary<string, List<WriteRequest>>
        {
            [Music] = [new(new PutRequest(Key("alice", 20))), new(new DeleteRequest(Key("bob", 1)))],
        }), NoAllow(Alice, "BatchWriteItem", Arn(Music)));
        Assert.False((await alice.GetItemAsync(Music, Key("alice", 20))).IsItemSet);
        await DeniedAsync(() => alice.BatchGetItemAsync(new Dictionary<string, KeysAndAttributes> { [Music] = new() { Keys = [Key("alice", 10), Key("bob", 1)] } }),
            NoAllow(Alice, "BatchGetItem", Arn(Music)));
        await DeniedAsync(() => alice.BatchWriteItemAsync(new Dictionary<string, List<WriteRequest>>
        {
            [Music] = [new(new PutRequest(Key("alice", 21)))],
            [Shared] = [new(new PutRequest(Key("alice", 21)))],
        }), NoAllow(Alice, "BatchWriteItem", Arn(Shared)));
    }

    [Fact]
    public async Task Transactions_CheckEachItemsActionOnItsTable()
    {
        using var alice = fixture.Client(Alice);
        await alice.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { Put = new Put { TableName = Music, Item = Key("alice", 30) } },
                new() { Update = new Update { TableName = Music, Key = Key("alice", 31), UpdateExpression = "SET v = :v", ExpressionAttributeValues = new() { [":v"] = new("1") } } },
            ],
        });

        // alice is not allowed dynamodb:ConditionCheckItem, even on her own partition.
        await DeniedAsync(() => alice.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { Put = new Put { TableName = Music, Item = Key("alice", 32) } },
                new() { ConditionCheck = new ConditionCheck { TableName = Music, Key = Key("alice", 30), ConditionExpression = "attribute_exists(pk)" } },
            ],
        }), NoAllow(Alice, "ConditionCheckItem", Arn(Music)));
        await DeniedAsync(() => alice.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems = [new() { Delete = new Delete { TableName = Music, Key = Key("bob", 1) } }],
        }), NoAllow(Alice, "DeleteItem", Arn(Music)));

        var got = await alice.TransactGetItemsAsync(new TransactGetItemsRequest { TransactItems = [new() { Get = new Get { TableName = Music, Key = Key("alice", 30) } }] });
        Assert.Equal("alice", got.Responses[0].Item["pk"].S);
        await DeniedAsync(() => alice.TransactGetItemsAsync(new TransactGetItemsRequest
        {
            TransactItems = [new() { Get = new Get { TableName = Music, Key = Key("alice", 30) } }, new() { Get = new Get { TableName = Music, Key = Key("bob", 1) } }],
        }), NoAllow(Alice, "GetItem", Arn(Music)));
    }

    [Fact]
    public async Task ResourcePolicy_AloneAllows_AndItsDenyBeatsTheIdentityAllow()
    {
        using var admin = fixture.Client(Admin);
        using var nobody = fixture.Client(Nobody);
        using var reader = fixture.Client(Reader);
        await admin.PutItemAsync(Shared, new Dictionary<string, AttributeValue>(Key("shared")) { ["v"] = new("s") });
        await DeniedAsync(() => nobody.GetItemAsync(Shared, Key("shared")), NoAllow(Nobody, "GetItem", Arn(Shared)));
        Assert.True((await reader.GetItemAsync(Shared, Key("shared"))).IsItemSet);

        var policy = $$"""
            {"Version":"2012-10-17","Statement":[
              {"Sid":"LetNobodyRead","Effect":"Allow","Principal":{"AWS":"{{User(Nobody.User)}}"},"Action":"dynamodb:GetItem","Resource":"{{Arn(Shared)}}"},
              {"Sid":"KeepReaderOut","Effect":"Deny","Principal":{"AWS":["{{User(Reader.User)}}"]},"Action":"dynamodb:*","Resource":["{{Arn(Shared)}}","{{Arn(Shared)}}/index/*"]}]}
            """;
        var put = await admin.PutResourcePolicyAsync(new PutResourcePolicyRequest { ResourceArn = Arn(Shared), Policy = policy });
        try
        {
            Assert.Equal("s", (await nobody.GetItemAsync(Shared, Key("shared"))).Item["v"].S);
            await DeniedAsync(() => nobody.PutItemAsync(Shared, Key("shared")), NoAllow(Nobody, "PutItem", Arn(Shared)));
            await DeniedAsync(() => reader.GetItemAsync(Shared, Key("shared")), ResourceDeny(Reader, "GetItem", Arn(Shared)));
            var got = await admin.GetResourcePolicyAsync(new GetResourcePolicyRequest { ResourceArn = Arn(Shared) });
            Assert.Equal(put.RevisionId, got.RevisionId);
            Assert.DoesNotContain("\n", got.Policy);
            Assert.Contains("LetNobodyRead", got.Policy);
        }
        finally
        {
            await admin.DeleteResourcePolicyAsync(new DeleteResourcePolicyRequest { ResourceArn = Arn(Shared) });
        }

        await DeniedAsync(() => nobody.GetItemAsync(Shared, Key("shared")), NoAllow(Nobody, "GetItem", Arn(Shared)));
        Assert.True((await reader.GetItemAsync(Shared, Key("shared"))).IsItemSet);
    }

    [Fact]
    public async Task ResourcePolicy_RevisionIds()
    {
        using var admin = fixture.Client(Admin);
        var arn = Arn(Secret);
        string Policy(string action) =>
            $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"{{User(Nobody.User)}}"},"Action":"{{action}}","Resource":"{{arn}}"}]}""";
        var missing = await Assert.ThrowsAsync<PolicyNotFoundException>(() => admin.GetResourcePolicyAsync(new GetResourcePolicyRequest { ResourceArn = arn }));
        Assert.Equal("Resource-based policy not found for the provided ResourceArn: " + arn, missing.Message);

        var r1 = (await admin.PutResourcePolicyAsync(new PutResourcePolicyRequest { ResourceArn = arn, Policy = Policy("dynamodb:GetItem"), ExpectedRevisionId = "NO_POLICY" })).RevisionId;
        Assert.Matches("^[0-9]+$", r1);
        Assert.Equal(r1, (await admin.PutResourcePolicyAsync(new PutResourcePolicyRequest { ResourceArn = arn, Policy = Policy("dynamodb:GetItem") })).RevisionId);
        var r2 = (await admin.PutResourcePolicyAsync(new PutResourcePolicyRequest { ResourceArn = arn, Policy = Policy("dynamodb:Query"), ExpectedRevisionId = r1 })).RevisionId;
        Assert.NotEqual(r1, r2);
        var stale = await Assert.ThrowsAsync<PolicyNotFoundException>(() =>
            admin.PutResourcePolicyAsync(new PutResourcePolicyRequest { ResourceArn = arn, Policy = Policy("dynamodb:Scan"), ExpectedRevisionId = r1 }));
        Assert.Equal($"Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id {r1}, but the policy associated to target table {Secret} has revision id {r2}.", stale.Message);
        var none = await Assert.ThrowsAsync<PolicyNotFoundException>(() =>
            admin.PutResourcePolicyAsync(new PutResourcePolicyRequest { ResourceArn = arn, Policy = Policy("dynamodb:Scan"), ExpectedRevisionId = "NO_POLICY" }));
        Assert.Equal($"Resource-based policy not found for the provided ResourceArn: Requested policy update expecting none to be present for table {Secret}, but a policy exists with revision id {r2}.", none.Message);

        await Assert.ThrowsAsync<PolicyNotFoundException>(() => admin.DeleteResourcePolicyAsync(new DeleteResourcePolicyRequest { ResourceArn = arn, ExpectedRevisionId = r1 }));
        Assert.Equal(r2, (await admin.DeleteResourcePolicyAsync(new DeleteResourcePolicyRequest { ResourceArn = arn, ExpectedRevisionId = r2 })).RevisionId);
        Assert.Null((await admin.DeleteResourcePolicyAsync(new DeleteResourcePolicyRequest { ResourceArn = arn })).RevisionId);

        var lockout = await Assert.ThrowsAnyAsync<AmazonServiceException>(() => admin.PutResourcePolicyAsync(new PutResourcePolicyRequest
        {
            ResourceArn = arn,
            Policy = $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"dynamodb:PutResourcePolicy","Resource":"{{arn}}"}]}""",
        }));
        Assert.Equal("AccessDeniedException", lockout.ErrorCode);
        Assert.Equal("The new resource policy will not allow you to update the resource policy in the future.", lockout.Message);
    }

    [Fact]
    public async Task StreamsApi_IsCheckedOnTheStreamArn()
    {
        using var admin = fixture.Client(Admin);
        await admin.PutItemAsync(Feed, new Dictionary<string, AttributeValue> { ["pk"] = new("e1") });
        var streamArn = fixture.FeedStreamArn;
        var deny = $$"""
            {"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"{{User(Streamer.User)}}"},
              "Action":["dynamodb:DescribeStream","dynamodb:GetRecords"],"Resource":"{{streamArn}}"}]}
            """;
        await admin.PutResourcePolicyAsync(new PutResourcePolicyRequest { ResourceArn = streamArn, Policy = deny });
        var described = await fixture.StreamsAsync(Admin, "DescribeStream", new { StreamArn = streamArn });
        Assert.Equal(HttpStatusCode.OK, described.Status);
        var shard = described.Body.GetProperty("StreamDescription").GetProperty("Shards")[0].GetProperty("ShardId").GetString();
        await StreamDeniedAsync(Streamer, "DescribeStream", new { StreamArn = streamArn }, ResourceDeny(Streamer, "DescribeStream", streamArn));

        // GetShardIterator is not in the policy: allowed; the records behind the iterator are not.
        var iterator = await fixture.StreamsAsync(Streamer, "GetShardIterator", new { StreamArn = streamArn, ShardId = shard, ShardIteratorType = "TRIM_HORIZON" });
        Assert.Equal(HttpStatusCode.OK, iterator.Status);
        var text = iterator.Body.GetProperty("ShardIterator").GetString();
        await StreamDeniedAsync(Streamer, "GetRecords", new { ShardIterator = text }, ResourceDeny(Streamer, "GetRecords", streamArn));
        var records = await fixture.StreamsAsync(Admin, "GetRecords", new { ShardIterator = text });
        Assert.NotEqual(0, records.Body.GetProperty("Records").GetArrayLength());
        Assert.Equal(HttpStatusCode.OK, (await fixture.StreamsAsync(Streamer, "ListStreams", new { })).Status);
        await StreamDeniedAsync(Nobody, "ListStreams", new { }, NoAllow(Nobody, "ListStreams", "*"));

        // The stream's policy is its own: the table's slot stays empty and the table stays open to the streamer.
        await Assert.ThrowsAsync<PolicyNotFoundException>(() => admin.GetResourcePolicyAsync(new GetResourcePolicyRequest { ResourceArn = Arn(Feed) }));
        using var streamerTables = fixture.Client(Streamer);
        await streamerTables.DescribeTableAsync(Feed);
    }

    private async Task StreamDeniedAsync(PolicyKey key, string operation, object request, string message)
    {
        var (status, body) = await fixture.StreamsAsync(key, operation, request);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("com.amazon.coral.service#AccessDeniedException", body.GetProperty("__type").GetString());
        Assert.Equal(message, body.GetProperty("Message").GetString());
    }
}
