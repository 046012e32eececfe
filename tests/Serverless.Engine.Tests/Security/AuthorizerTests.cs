using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Security;
using Serverless.Engine.Security.Authorization;

namespace Serverless.Engine.Tests.Security;

/// <summary>
/// The authorizer in front of the real operations (an engine with a data directory, so streams and restarts work):
/// it runs as the request handler runs it, with the caller set, before the operation.
/// </summary>
public sealed class AuthorizerTests : IAsyncLifetime
{
    private const string Account = "000000000000";
    private const string MusicArn = "arn:aws:dynamodb:us-east-1:000000000000:table/Music";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "authz-" + Guid.NewGuid().ToString("N"));
    private DynamoEngine _engine = null!;

    private static readonly Caller Admin = Key("admin", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}");
    private static readonly Caller Nobody = Key("nobody", null);

    public async Task InitializeAsync()
    {
        _engine = await DynamoEngine.OpenAsync(new EngineOptions { DataDirectory = _dir, StoreMemoryBytes = 16L * 1024 * 1024 });
        await CallAsync(Admin, "CreateTable", "{\"TableName\":\"Music\",\"BillingMode\":\"PAY_PER_REQUEST\",\"AttributeDefinitions\":[{\"AttributeName\":\"Artist\",\"AttributeType\":\"S\"},{\"AttributeName\":\"Year\",\"AttributeType\":\"N\"},{\"AttributeName\":\"Genre\",\"AttributeType\":\"S\"}],"
            + "\"KeySchema\":[{\"AttributeName\":\"Artist\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"Year\",\"KeyType\":\"RANGE\"}],"
            + "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"byGenre\",\"KeySchema\":[{\"AttributeName\":\"Genre\",\"KeyType\":\"HASH\"}],\"Projection\":{\"ProjectionType\":\"ALL\"}}],"
            + "\"StreamSpecification\":{\"StreamEnabled\":true,\"StreamViewType\":\"NEW_IMAGE\"}}");
        await CallAsync(Admin, "CreateTable", "{\"TableName\":\"Other\",\"BillingMode\":\"PAY_PER_REQUEST\",\"AttributeDefinitions\":[{\"AttributeName\":\"Id\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"Id\",\"KeyType\":\"HASH\"}]}");
    }

    public async Task DisposeAsync()
    {
        await _engine.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void EveryServedOperation_HasAnEntryInThePermissionTable()
    {
        var missing = OperationTable.OperationNames.Where(n => !OperationPermissions.IsMapped(n)).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public async Task ImplicitDeny_NamesPrincipalActionAndResource()
    {
        var e = await DeniedAsync(Nobody, "PutItem", "{\"TableName\":\"Music\",\"Item\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}");
        Assert.Equal("AccessDeniedException", e.ErrorType);
        Assert.Equal("com.amazon.coral.service#AccessDeniedException", e.WireType);
        Assert.True(e.CapitalMessageKey);
        Assert.Equal(400, e.StatusCode);
        Assert.Equal($"User: arn:aws:iam::{Account}:user/nobody is not authorized to perform: dynamodb:PutItem on resource: {MusicArn} because no identity-based policy allows the dynamodb:PutItem action", e.Message);
        var list = await DeniedAsync(Nobody, "ListTables", "{}");
        Assert.Equal($"User: arn:aws:iam::{Account}:user/nobody is not authorized to perform: dynamodb:ListTables on resource: * because no identity-based policy allows the dynamodb:ListTables action", list.Message);
    }

    [Fact]
    public async Task ExplicitDeny_InIdentityPolicy()
    {
        var caller = Key("carol", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"dynamodb:DeleteItem\",\"Resource\":\"" + MusicArn + "\"}]}");
        await CallAsync(caller, "GetItem", "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}");
        var e = await DeniedAsync(caller, "DeleteItem", "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}");
        Assert.EndsWith("on resource: " + MusicArn + " with an explicit deny in an identity-based policy", e.Message);
    }

    [Fact]
    public async Task QueryAndScanOnAnIndex_CheckTheIndexArn()
    {
        var caller = Key("dave", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"dynamodb:Query\",\"dynamodb:Scan\"],\"Resource\":\"" + MusicArn + "\"}]}");
        await CallAsync(caller, "Scan", "{\"TableName\":\"Music\"}");
        var e = await DeniedAsync(caller, "Query", "{\"TableName\":\"Music\",\"IndexName\":\"byGenre\",\"KeyConditionExpression\":\"Genre = :g\",\"ExpressionAttributeValues\":{\":g\":{\"S\":\"jazz\"}}}");
        Assert.Contains("dynamodb:Query on resource: " + MusicArn + "/index/byGenre because", e.Message);
    }

    [Fact]
    public async Task BatchWrite_ChecksBatchWriteItemPerTable_WithEachTablesLeadingKeys()
    {
        var caller = Key("alice", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:BatchWriteItem\",\"Resource\":\"" + MusicArn + "\",\"Condition\":{\"ForAllValues:StringEquals\":{\"dynamodb:LeadingKeys\":[\"${aws:username}\"]}}}]}");
        await CallAsync(caller, "BatchWriteItem", "{\"RequestItems\":{\"Music\":[{\"PutRequest\":{\"Item\":{\"Artist\":{\"S\":\"alice\"},\"Year\":{\"N\":\"1\"}}}},{\"DeleteRequest\":{\"Key\":{\"Artist\":{\"S\":\"alice\"},\"Year\":{\"N\":\"2\"}}}}]}}");
        var theirs = await DeniedAsync(caller, "BatchWriteItem", "{\"RequestItems\":{\"Music\":[{\"PutRequest\":{\"Item\":{\"Artist\":{\"S\":\"alice\"},\"Year\":{\"N\":\"1\"}}}},{\"DeleteRequest\":{\"Key\":{\"Artist\":{\"S\":\"bob\"},\"Year\":{\"N\":\"2\"}}}}]}}");
        Assert.Contains("dynamodb:BatchWriteItem on resource: " + MusicArn + " because", theirs.Message);
        var other = await DeniedAsync(caller, "BatchWriteItem", "{\"RequestItems\":{\"Music\":[{\"PutRequest\":{\"Item\":{\"Artist\":{\"S\":\"alice\"},\"Year\":{\"N\":\"1\"}}}}],\"Other\":[{\"PutRequest\":{\"Item\":{\"Id\":{\"S\":\"alice\"}}}}]}}");
        Assert.Contains("table/Other because", other.Message);
    }

    [Fact]
    public async Task Transactions_CheckEachItemsAction()
    {
        var caller = Key("erin", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"dynamodb:PutItem\",\"dynamodb:GetItem\"],\"Resource\":\"*\"}]}");
        const string put = "{\"Put\":{\"TableName\":\"Music\",\"Item\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}}";
        await CallAsync(caller, "TransactWriteItems", "{\"TransactItems\":[" + put + "]}");
        var e = await DeniedAsync(caller, "TransactWriteItems", "{\"TransactItems\":[" + put + ",{\"ConditionCheck\":{\"TableName\":\"Other\",\"Key\":{\"Id\":{\"S\":\"x\"}},\"ConditionExpression\":\"attribute_not_exists(Id)\"}}]}");
        Assert.Contains("dynamodb:ConditionCheckItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/Other", e.Message);
        await CallAsync(caller, "TransactGetItems", "{\"TransactItems\":[{\"Get\":{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}}]}");
    }

    [Fact]
    public async Task PartiQL_ChecksThePartiQLActionOfEachStatement()
    {
        var caller = Key("pat", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"dynamodb:PartiQLSelect\",\"dynamodb:PartiQLInsert\"],\"Resource\":\"" + MusicArn + "\"}]}");
        await CallAsync(caller, "ExecuteStatement", Json(new { Statement = "INSERT INTO Music VALUE {'Artist': 'p', 'Year': 1}" }));
        await CallAsync(caller, "ExecuteStatement", Json(new { Statement = "SELECT * FROM Music WHERE Artist = 'p'" }));
        var update = await DeniedAsync(caller, "ExecuteStatement", Json(new { Statement = "UPDATE Music SET v = 1 WHERE Artist = 'p' AND \"Year\" = 1" }));
        Assert.Contains("dynamodb:PartiQLUpdate on resource: " + MusicArn + " because", update.Message);
        var index = await DeniedAsync(caller, "ExecuteStatement", Json(new { Statement = "SELECT * FROM Music.byGenre WHERE Genre = 'jazz'" }));
        Assert.Contains("dynamodb:PartiQLSelect on resource: " + MusicArn + "/index/byGenre because", index.Message);
        var transaction = await DeniedAsync(caller, "ExecuteTransaction", Json(new
        {
            TransactStatements = new[] { new { Statement = "INSERT INTO Music VALUE {'Artist': 'q', 'Year': 1}" }, new { Statement = "DELETE FROM Music WHERE Artist = 'p' AND \"Year\" = 1" } },
        }));
        Assert.Contains("dynamodb:PartiQLDelete", transaction.Message);
        await DeniedAsync(caller, "BatchExecuteStatement", Json(new { Statements = new[] { new { Statement = "SELECT * FROM Other WHERE Id = 'x'" } } }));
    }

    [Fact]
    public async Task ResourcePolicy_AloneAllows_AndItsDenyBeatsAnIdentityAllow()
    {
        var frank = Key("frank", null);
        var grace = Key("grace", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\"}]}");
        var policy = "{\"Version\":\"2012-10-17\",\"Statement\":["
            + "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/frank\"},\"Action\":\"dynamodb:GetItem\",\"Resource\":\"" + MusicArn + "\"},"
            + "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/grace\"},\"Action\":\"dynamodb:GetItem\",\"Resource\":\"" + MusicArn + "\"}]}";
        var put = await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = policy }));
        Assert.Matches("^[0-9]{13}$", put.GetProperty("RevisionId").GetString());
        const string get = "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}";
        await CallAsync(frank, "GetItem", get);
        var e = await DeniedAsync(grace, "GetItem", get);
        Assert.Equal($"User: arn:aws:iam::{Account}:user/grace is not authorized to perform: dynamodb:GetItem on resource: {MusicArn} with an explicit deny in a resource-based policy", e.Message);
        await DeniedAsync(frank, "PutItem", "{\"TableName\":\"Music\",\"Item\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}");
    }

    [Fact]
    public async Task StreamPolicy_IsItsOwnSlot_AndGuardsTheStreamsApi()
    {
        var streamArn = (await CallAsync(Admin, "DescribeTable", "{\"TableName\":\"Music\"}")).GetProperty("Table").GetProperty("LatestStreamArn").GetString()!;
        var henry = Key("henry", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\",\"Resource\":\"*\"}]}");
        var deny = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/henry\"},\"Action\":[\"dynamodb:DescribeStream\",\"dynamodb:GetShardIterator\",\"dynamodb:GetRecords\"],\"Resource\":\"" + streamArn + "\"}]}";
        await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = streamArn, Policy = deny }));
        var e = await DeniedAsync(henry, "DescribeStream", Json(new { StreamArn = streamArn }));
        Assert.EndsWith($"dynamodb:DescribeStream on resource: {streamArn} with an explicit deny in a resource-based policy", e.Message);
        var shard = (await CallAsync(Admin, "DescribeStream", Json(new { StreamArn = streamArn }))).GetProperty("StreamDescription").GetProperty("Shards")[0].GetProperty("ShardId").GetString();
        var iterator = (await CallAsync(Admin, "GetShardIterator", Json(new { StreamArn = streamArn, ShardId = shard, ShardIteratorType = "TRIM_HORIZON" }))).GetProperty("ShardIterator").GetString();
        var records = await DeniedAsync(henry, "GetRecords", Json(new { ShardIterator = iterator }));
        Assert.Contains("dynamodb:GetRecords on resource: " + streamArn, records.Message);
        await CallAsync(henry, "ListStreams", "{}");

        // The table ARN has no policy of its own: the stream's is a separate slot.
        var missing = await FailsAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = MusicArn }));
        Assert.Equal("PolicyNotFoundException", missing.ErrorType);
        Assert.Equal("Resource-based policy not found for the provided ResourceArn: " + MusicArn, missing.Message);
    }

    [Fact]
    public async Task RevisionIds_ExpectedRevision_NoPolicy_AndIdempotentPut()
    {
        var p1 = Allow("dynamodb:GetItem");
        var p2 = Allow("dynamodb:Query");
        var r1 = (await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = p1, ExpectedRevisionId = "NO_POLICY" }))).GetProperty("RevisionId").GetString()!;
        Assert.Equal(r1, (await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = p1 }))).GetProperty("RevisionId").GetString());
        var noPolicy = await FailsAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = p2, ExpectedRevisionId = "NO_POLICY" }));
        Assert.Equal($"Resource-based policy not found for the provided ResourceArn: Requested policy update expecting none to be present for table Music, but a policy exists with revision id {r1}.", noPolicy.Message);
        var r2 = (await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = p2, ExpectedRevisionId = r1 }))).GetProperty("RevisionId").GetString()!;
        Assert.True(long.Parse(r2) > long.Parse(r1));
        var stale = await FailsAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = p1, ExpectedRevisionId = r1 }));
        Assert.Equal("PolicyNotFoundException", stale.ErrorType);
        Assert.Equal($"Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id {r1}, but the policy associated to target table Music has revision id {r2}.", stale.Message);

        var got = await CallAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = MusicArn }));
        Assert.Equal(r2, got.GetProperty("RevisionId").GetString());
        Assert.Equal(JsonDocument.Parse(p2).RootElement.GetRawText().Replace(" ", ""), got.GetProperty("Policy").GetString());

        var badDelete = await FailsAsync(Admin, "DeleteResourcePolicy", Json(new { ResourceArn = MusicArn, ExpectedRevisionId = r1 }));
        Assert.Equal("PolicyNotFoundException", badDelete.ErrorType);
        Assert.Equal(r2, (await CallAsync(Admin, "DeleteResourcePolicy", Json(new { ResourceArn = MusicArn, ExpectedRevisionId = r2 }))).GetProperty("RevisionId").GetString());
        Assert.False((await CallAsync(Admin, "DeleteResourcePolicy", Json(new { ResourceArn = MusicArn }))).TryGetProperty("RevisionId", out _));
        Assert.Equal("PolicyNotFoundException", (await FailsAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = MusicArn }))).ErrorType);
    }

    [Theory]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"dynamodb:GetItem\",\"Resource\":\"*\"}]}", "Resource-based policy grants unbounded access in one or more elements. Please revise the policy to ensure least-privilege form of access")]
    [InlineData("{not json", "One or more parameter values were invalid: Invalid policy document: This policy contains invalid Json")]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[]}", "One or more parameter values were invalid: Invalid policy document: Could not parse the policy: Statement is empty!")]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/x\"},\"Action\":\"dynamodb:GetItem\"}]}", "One or more parameter values were invalid: Invalid policy document: Missing required field Resource")]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/x\"},\"Action\":[\"dynamodb:GetItem\",\"dynamodb:GetRecords\"],\"Resource\":\"*\"}]}", "One or more parameter values were invalid: Invalid policy document: The following action names are invalid: \"dynamodb:GetRecords\"")]
    [InlineData("{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"111122223333\"},\"Action\":\"dynamodb:GetItem\",\"Resource\":\"*\"}]}", "One or more parameter values were invalid: Invalid principal in policy document.")]
    public async Task InvalidResourcePolicies_AreValidationErrors(string policy, string message)
    {
        var e = await FailsAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = policy }));
        Assert.Equal("ValidationException", e.ErrorType);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public async Task PolicySizeAndArnForms_AreCheckedAsAwsDoes()
    {
        var big = Allow("dynamodb:GetItem").Replace("{\"Version\"", "{" + new string(' ', 20480) + "\"Version\"");
        Assert.Equal("One or more parameter values were invalid: Maximum policy size of 20480 bytes exceeded",
            (await FailsAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = big }))).Message);
        Assert.Equal("One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: " + MusicArn + "/index/byGenre",
            (await FailsAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = MusicArn + "/index/byGenre" }))).Message);
        Assert.Equal("Requested resource not found: Table: Missing not found",
            (await FailsAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = "arn:aws:dynamodb:us-east-1:000000000000:table/Missing" }))).Message);
        Assert.Equal("One or more parameter values were invalid: ARNs must start with 'arn:': Music",
            (await FailsAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = "Music" }))).Message);
    }

    [Fact]
    public async Task LockoutGuard_RefusesAPolicyDenyingItsAuthor_UnlessConfirmed()
    {
        var deny = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"dynamodb:PutResourcePolicy\",\"Resource\":\"" + MusicArn + "\"}]}";
        var e = await FailsAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = deny }));
        Assert.Equal("AccessDeniedException", e.ErrorType);
        Assert.Equal("The new resource policy will not allow you to update the resource policy in the future.", e.Message);
        await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = deny, ConfirmRemoveSelfResourceAccess = true }));
        var locked = await DeniedAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = Allow("dynamodb:GetItem") }));
        Assert.EndsWith("with an explicit deny in a resource-based policy", locked.Message);

        // The account's root user may always delete the policy.
        var root = Key("root", null, "arn:aws:iam::000000000000:root");
        await CallAsync(root, "DeleteResourcePolicy", Json(new { ResourceArn = MusicArn }));
        await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = Allow("dynamodb:GetItem") }));
    }

    [Fact]
    public async Task CreateTableWithResourcePolicy_NeedsPutResourcePolicy_AndDeletingTheTableDropsIt()
    {
        var creator = Key("ivan", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"dynamodb:CreateTable\",\"dynamodb:DeleteTable\"],\"Resource\":\"*\"}]}");
        var arn = "arn:aws:dynamodb:us-east-1:000000000000:table/WithPolicy";
        var plain = Json(new
        {
            TableName = "WithPolicy", BillingMode = "PAY_PER_REQUEST",
            AttributeDefinitions = new[] { new { AttributeName = "Id", AttributeType = "S" } },
            KeySchema = new[] { new { AttributeName = "Id", KeyType = "HASH" } },
        });
        var create = Json(new
        {
            TableName = "WithPolicy", BillingMode = "PAY_PER_REQUEST",
            AttributeDefinitions = new[] { new { AttributeName = "Id", AttributeType = "S" } },
            KeySchema = new[] { new { AttributeName = "Id", KeyType = "HASH" } },
            ResourcePolicy = Allow("dynamodb:GetItem", arn),
        });
        var e = await DeniedAsync(creator, "CreateTable", create);
        Assert.Contains("dynamodb:PutResourcePolicy on resource: " + arn, e.Message);
        await CallAsync(Admin, "CreateTable", create);
        Assert.Equal(JsonDocument.Parse(Allow("dynamodb:GetItem", arn)).RootElement.GetRawText(),
            (await CallAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = arn }))).GetProperty("Policy").GetString());
        await CallAsync(Admin, "DeleteTable", "{\"TableName\":\"WithPolicy\"}");
        await CallAsync(Admin, "CreateTable", plain);
        Assert.Equal("PolicyNotFoundException", (await FailsAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = arn }))).ErrorType);
    }

    [Fact]
    public async Task Policies_SurviveARestart()
    {
        var r = (await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = Allow("dynamodb:GetItem") }))).GetProperty("RevisionId").GetString();
        await _engine.DisposeAsync();
        _engine = await DynamoEngine.OpenAsync(new EngineOptions { DataDirectory = _dir, StoreMemoryBytes = 16L * 1024 * 1024 });
        Assert.Equal(r, (await CallAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = MusicArn }))).GetProperty("RevisionId").GetString());
        await CallAsync(Key("jane", null), "GetItem", "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}");
    }

    [Fact]
    public async Task RestoreFromBackup_NeedsTheRestoreActionAndTheTargetsItemActions_AndDropsThePolicy()
    {
        await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = Allow("dynamodb:GetItem") }));
        var backup = (await CallAsync(Admin, "CreateBackup", "{\"TableName\":\"Music\",\"BackupName\":\"nightly\"}")).GetProperty("BackupDetails").GetProperty("BackupArn").GetString()!;
        var only = Key("kim", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:RestoreTableFromBackup\",\"Resource\":\"*\"}]}");
        var e = await DeniedAsync(only, "RestoreTableFromBackup", Json(new { BackupArn = backup, TargetTableName = "Restored" }));
        Assert.Contains("dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table/Restored", e.Message);
        await CallAsync(Admin, "RestoreTableFromBackup", Json(new { BackupArn = backup, TargetTableName = "Restored" }));
        Assert.Equal("PolicyNotFoundException", (await FailsAsync(Admin, "GetResourcePolicy", Json(new { ResourceArn = "arn:aws:dynamodb:us-east-1:000000000000:table/Restored" }))).ErrorType);
    }

    [Fact]
    public async Task MalformedRequests_StillGetTheOperationsOwnError()
    {
        // Unreadable shapes name no resource; the operation then reports them as it always does.
        Assert.Equal("SerializationException", (await FailsAsync(Nobody, "PutItem", "{\"TableName\":5}")).ErrorType);
        Assert.Equal("SerializationException", (await FailsAsync(Nobody, "BatchWriteItem", "{\"RequestItems\":[]}")).ErrorType);
        Assert.Equal("ValidationException", (await FailsAsync(Nobody, "GetRecords", "{\"ShardIterator\":\"garbage\"}")).ErrorType);
        Assert.Equal("AccessDeniedException", (await FailsAsync(Nobody, "PutItem", "{\"TableName\":\"Music\",\"Item\":5}")).ErrorType);
    }

    [Fact]
    public async Task BadIdentityPolicyInConfiguration_FailsStartUp()
    {
        var options = new EngineOptions { InMemory = true };
        options.Auth.Keys.Add(new AccessKeyOptions { AccessKeyId = "AKIDBAD", SecretAccessKey = "s", Principal = "arn:aws:iam::000000000000:user/bad", Policy = "{\"Statement\":[]}" });
        var e = await Assert.ThrowsAsync<ArgumentException>(async () => await DynamoEngine.OpenAsync(options));
        Assert.Equal("Auth:Keys:0:Policy (access key AKIDBAD) is not a valid IAM policy: Could not parse the policy: Statement is empty!", e.Message);
    }

    [Fact]
    public void AdminCheck_UsesTheIdentityPolicy()
    {
        var ops = Key("ops", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"admin:Get*\",\"Resource\":\"*\"}]}");
        _engine.Security.Authorizer.Check(ops, "admin:GetMetrics", "*");
        var e = Assert.Throws<DynamoException>(() => _engine.Security.Authorizer.Check(ops, "admin:AdvanceClock", "*"));
        Assert.Equal($"User: arn:aws:iam::{Account}:user/ops is not authorized to perform: admin:AdvanceClock on resource: * because no identity-based policy allows the admin:AdvanceClock action", e.Message);
    }

    [Fact]
    public async Task DecisionCache_APutOrDeletedResourcePolicy_TakesEffectOnTheNextRequest()
    {
        const string get = "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}";
        var jane = Key("jane", null);
        var kim = Key("kim", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:GetItem\",\"Resource\":\"" + MusicArn + "\"}]}");
        await DeniedAsync(jane, "GetItem", get);
        await CallAsync(kim, "GetItem", get);
        await CallAsync(kim, "GetItem", get);

        // jane gains access through a resource policy; kim's cached Allow is retaken under the new policy, and a Deny for him wins.
        var allowJaneDenyKim = "{\"Version\":\"2012-10-17\",\"Statement\":["
            + "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/jane\"},\"Action\":\"dynamodb:GetItem\",\"Resource\":\"" + MusicArn + "\"},"
            + "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/kim\"},\"Action\":\"dynamodb:GetItem\",\"Resource\":\"" + MusicArn + "\"}]}";
        await CallAsync(Admin, "PutResourcePolicy", Json(new { ResourceArn = MusicArn, Policy = allowJaneDenyKim }));
        await CallAsync(jane, "GetItem", get);
        var e = await DeniedAsync(kim, "GetItem", get);
        Assert.EndsWith("with an explicit deny in a resource-based policy", e.Message);

        await CallAsync(Admin, "DeleteResourcePolicy", Json(new { ResourceArn = MusicArn }));
        var implicitDeny = await DeniedAsync(jane, "GetItem", get);
        Assert.EndsWith("because no identity-based policy allows the dynamodb:GetItem action", implicitDeny.Message);
        await CallAsync(kim, "GetItem", get);
        Assert.True(_engine.Security.Authorizer.CachedDecisions > 0);
    }

    [Fact]
    public async Task DecisionCache_RepeatedChecksAreTakenOnce_ButConditionsOnTheRequestNeverAre()
    {
        var reader = Key("lee", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:GetItem\",\"Resource\":\"" + MusicArn + "\"}]}");
        const string get = "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"a\"},\"Year\":{\"N\":\"1\"}}}";
        var before = _engine.Security.Authorizer.CachedDecisions;
        for (var i = 0; i < 5; i++) await CallAsync(reader, "GetItem", get);
        await DeniedAsync(reader, "GetItem", "{\"TableName\":\"Other\",\"Key\":{\"Id\":{\"S\":\"a\"}}}");
        Assert.Equal(before + 2, _engine.Security.Authorizer.CachedDecisions);

        // LeadingKeys: the same caller, action and resource get different answers by key, so nothing is cached.
        var fine = Key("mia", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"dynamodb:GetItem\",\"Resource\":\"" + MusicArn + "\","
            + "\"Condition\":{\"ForAllValues:StringEquals\":{\"dynamodb:LeadingKeys\":[\"${aws:username}\"]}}}]}");
        for (var i = 0; i < 3; i++)
        {
            await CallAsync(fine, "GetItem", "{\"TableName\":\"Music\",\"Key\":{\"Artist\":{\"S\":\"mia\"},\"Year\":{\"N\":\"1\"}}}");
            await DeniedAsync(fine, "GetItem", get);
        }

        Assert.Equal(before + 2, _engine.Security.Authorizer.CachedDecisions);
    }

    [Fact]
    public void DecisionCache_IsBounded()
    {
        var cache = new DecisionCache(capacity: 4);
        var caller = Key("ned", null);
        for (var i = 0; i < 10; i++)
            cache.Add(caller, "dynamodb:GetItem", MusicArn + i, null, null, new DecisionCache.Decided(Decision.Allow, false));
        Assert.InRange(cache.Count, 1, 4);
        Assert.True(cache.TryGet(caller, "dynamodb:GetItem", MusicArn + 9, null, null, out var decided));
        Assert.Equal(Decision.Allow, decided.Decision);
        Assert.False(cache.TryGet(caller, "dynamodb:GetItem", MusicArn + 9, null, "{}", out _));
    }

    private static string Allow(string action, string resource = MusicArn) =>
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"s1\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::000000000000:user/jane\"},\"Action\":\"" + action + "\",\"Resource\":\"" + resource + "\"}]}";

    private static Caller Key(string user, string? policy, string? principal = null) =>
        new(new AccessKeyOptions { AccessKeyId = "AKID" + user.ToUpperInvariant(), SecretAccessKey = "secret", Principal = principal ?? $"arn:aws:iam::{Account}:user/{user}", Policy = policy });

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private async Task<JsonElement> CallAsync(Caller caller, string operation, string json)
    {
        using var document = JsonDocument.Parse(json);
        var target = (operation is "ListStreams" or "DescribeStream" or "GetShardIterator" or "GetRecords" ? "DynamoDBStreams_20120810." : "DynamoDB_20120810.") + operation;
        var context = new OperationContext(_engine, "us-east-1", "test") { Caller = caller };
        _engine.Security.Authorizer.Authorize(context, target, document.RootElement);
        var buffer = new ArrayBufferWriter<byte>();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            await OperationTable.Find(target)!(context, document.RootElement, writer);
        }

        return buffer.WrittenCount == 0 ? default : JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone();
    }

    private async Task<DynamoException> FailsAsync(Caller caller, string operation, string json) =>
        await Assert.ThrowsAsync<DynamoException>(() => CallAsync(caller, operation, json));

    private async Task<DynamoException> DeniedAsync(Caller caller, string operation, string json)
    {
        var e = await FailsAsync(caller, operation, json);
        Assert.Equal("AccessDeniedException", e.ErrorType);
        return e;
    }
}
