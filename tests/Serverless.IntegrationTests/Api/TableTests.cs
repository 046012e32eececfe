using System.Text.RegularExpressions;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Api;

/// <summary>Control-plane operations through the low-level SDK client.</summary>
[Collection(SharedHostCollection.Name)]
public sealed partial class TableTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex UuidPattern();

    [Fact]
    public async Task CreateTable_HashOnlyProvisioned_DescribesEveryField()
    {
        using var client = _host.CreateClient();
        var name = NewName("prov");

        var created = await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            KeySchema = [new KeySchemaElement("id", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("id", ScalarAttributeType.N)],
            ProvisionedThroughput = new ProvisionedThroughput(5, 7),
        });
        var table = (await client.DescribeTableAsync(name)).Table;

        Assert.Equal(TableStatus.CREATING, created.TableDescription.TableStatus);
        Assert.Equal(TableStatus.ACTIVE, table.TableStatus);
        Assert.Equal(name, table.TableName);
        Assert.Equal($"arn:aws:dynamodb:us-east-1:000000000000:table/{name}", table.TableArn);
        Assert.Matches(UuidPattern(), table.TableId);
        Assert.Equal(created.TableDescription.TableId, table.TableId);
        var key = Assert.Single(table.KeySchema);
        Assert.Equal(("id", KeyType.HASH), (key.AttributeName, key.KeyType));
        var def = Assert.Single(table.AttributeDefinitions);
        Assert.Equal(("id", ScalarAttributeType.N), (def.AttributeName, def.AttributeType));
        Assert.Equal(5, table.ProvisionedThroughput.ReadCapacityUnits);
        Assert.Equal(7, table.ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal(0, table.ProvisionedThroughput.NumberOfDecreasesToday);
        Assert.Equal(BillingMode.PROVISIONED, table.BillingModeSummary?.BillingMode ?? BillingMode.PROVISIONED);
        Assert.Equal(TableClass.STANDARD, table.TableClassSummary?.TableClass ?? TableClass.STANDARD);
        Assert.False(table.DeletionProtectionEnabled);
        Assert.Equal(0, table.ItemCount);
        Assert.Equal(0, table.TableSizeBytes);
        Assert.InRange(table.CreationDateTime!.Value, DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task CreateTable_HashRangePayPerRequest_DescribesOnDemandFields()
    {
        using var client = _host.CreateClient();
        var name = NewName("ppr");

        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
            AttributeDefinitions = [new AttributeDefinition("sk", ScalarAttributeType.B), new AttributeDefinition("pk", ScalarAttributeType.S)],
            TableClass = TableClass.STANDARD_INFREQUENT_ACCESS,
            DeletionProtectionEnabled = true,
        });
        var table = (await client.DescribeTableAsync(name)).Table;

        Assert.Equal(["pk:HASH", "sk:RANGE"], table.KeySchema.Select(k => $"{k.AttributeName}:{k.KeyType}"));
        Assert.Equal(["pk:S", "sk:B"], table.AttributeDefinitions.Select(a => $"{a.AttributeName}:{a.AttributeType}"));
        Assert.Equal(BillingMode.PAY_PER_REQUEST, table.BillingModeSummary.BillingMode);
        Assert.NotNull(table.BillingModeSummary.LastUpdateToPayPerRequestDateTime);
        Assert.Equal(0, table.ProvisionedThroughput.ReadCapacityUnits);
        Assert.Equal(0, table.ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal(TableClass.STANDARD_INFREQUENT_ACCESS, table.TableClassSummary.TableClass);
        Assert.True(table.DeletionProtectionEnabled);

        await client.UpdateTableAsync(new UpdateTableRequest { TableName = name, DeletionProtectionEnabled = false });
        await client.DeleteTableAsync(name);
    }

    [Fact]
    public async Task DescribeTable_AfterPuts_CountsItemsAndBytes()
    {
        using var client = _host.CreateClient();
        var name = await CreateAsync(client, "count");

        // "pk"(2) + "a"(1) = 3 bytes of names; values "k1"(2) and "xyz"(3): 8 bytes per item of this shape.
        await client.PutItemAsync(name, new() { ["pk"] = S("k1"), ["a"] = S("xyz") });
        await client.PutItemAsync(name, new() { ["pk"] = S("k2"), ["a"] = S("xyz") });
        await client.PutItemAsync(name, new() { ["pk"] = S("k2"), ["a"] = S("xyz") }); // overwrite: still two items
        var table = (await client.DescribeTableAsync(name)).Table;

        Assert.Equal(2, table.ItemCount);
        Assert.Equal(16, table.TableSizeBytes);

        await client.DeleteItemAsync(name, Key("k1"));
        table = (await client.DescribeTableAsync(name)).Table;
        Assert.Equal(1, table.ItemCount);
        Assert.Equal(8, table.TableSizeBytes);
    }

    [Fact]
    public async Task ListTables_PagesWithLimitAndExclusiveStartTableName()
    {
        using var client = _host.CreateClient();
        var prefix = "list-" + Guid.NewGuid().ToString("N")[..8];
        var names = new[] { prefix + "-a", prefix + "-b", prefix + "-c" };
        foreach (var n in names)
        {
            await client.CreateTableAsync(new CreateTableRequest
            {
                TableName = n,
                BillingMode = BillingMode.PAY_PER_REQUEST,
                KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
                AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            });
        }

        // Start just before our names so other tests' tables do not matter (names are sorted).
        var first = await client.ListTablesAsync(new ListTablesRequest { ExclusiveStartTableName = prefix, Limit = 2 });
        var second = await client.ListTablesAsync(new ListTablesRequest { ExclusiveStartTableName = first.LastEvaluatedTableName, Limit = 2 });
        var all = await client.ListTablesAsync(new ListTablesRequest());

        Assert.Equal(names[..2], first.TableNames);
        Assert.Equal(names[1], first.LastEvaluatedTableName);
        Assert.Equal(names[2], second.TableNames[0]);
        Assert.Subset(all.TableNames.ToHashSet(), names.ToHashSet());
        Assert.Equal(all.TableNames.OrderBy(n => n, StringComparer.Ordinal), all.TableNames);
    }

    private static readonly int TooLarge = 200;

    [Fact]
    public async Task ListTables_LimitOver100_IsRejected()
    {
        using var client = _host.CreateClient();

        var request = new ListTablesRequest();
        request.Limit = TooLarge; // the SDK's analyzer rejects a literal over 100
        var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.ListTablesAsync(request));

        Assert.Equal("ValidationException", e.ErrorCode);
        Assert.Equal("1 validation error detected: Value '200' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100", e.Message);
    }

    [Fact]
    public async Task UpdateTable_ChangesBillingModeThroughputAndTableClass()
    {
        using var client = _host.CreateClient();
        var name = NewName("upd");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            ProvisionedThroughput = new ProvisionedThroughput(5, 5),
        });

        var raised = (await client.UpdateTableAsync(new UpdateTableRequest { TableName = name, ProvisionedThroughput = new ProvisionedThroughput(10, 3) })).TableDescription;
        Assert.Equal(10, raised.ProvisionedThroughput.ReadCapacityUnits);
        Assert.Equal(3, raised.ProvisionedThroughput.WriteCapacityUnits);
        Assert.Equal(1, raised.ProvisionedThroughput.NumberOfDecreasesToday);
        Assert.NotNull(raised.ProvisionedThroughput.LastIncreaseDateTime);
        Assert.NotNull(raised.ProvisionedThroughput.LastDecreaseDateTime);

        var same = await Assert.ThrowsAsync<AmazonDynamoDBException>(() =>
            client.UpdateTableAsync(new UpdateTableRequest { TableName = name, ProvisionedThroughput = new ProvisionedThroughput(10, 3) }));
        Assert.Equal("ValidationException", same.ErrorCode);
        Assert.StartsWith("The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: 10.", same.Message);

        await client.UpdateTableAsync(new UpdateTableRequest { TableName = name, BillingMode = BillingMode.PAY_PER_REQUEST });
        var onDemand = (await client.DescribeTableAsync(name)).Table;
        Assert.Equal(BillingMode.PAY_PER_REQUEST, onDemand.BillingModeSummary.BillingMode);
        Assert.NotNull(onDemand.BillingModeSummary.LastUpdateToPayPerRequestDateTime);
        Assert.Equal(0, onDemand.ProvisionedThroughput.ReadCapacityUnits);

        var back = await Assert.ThrowsAsync<AmazonDynamoDBException>(() =>
            client.UpdateTableAsync(new UpdateTableRequest { TableName = name, BillingMode = BillingMode.PROVISIONED }));
        Assert.Equal("One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED", back.Message);

        await client.UpdateTableAsync(new UpdateTableRequest { TableName = name, TableClass = TableClass.STANDARD_INFREQUENT_ACCESS });
        Assert.Equal(TableClass.STANDARD_INFREQUENT_ACCESS, (await client.DescribeTableAsync(name)).Table.TableClassSummary.TableClass);
    }

    [Fact]
    public async Task DeleteTable_WhileDeletionProtected_IsRefusedUntilProtectionIsOff()
    {
        using var client = _host.CreateClient();
        var name = await CreateAsync(client, "protect");
        await client.UpdateTableAsync(new UpdateTableRequest { TableName = name, DeletionProtectionEnabled = true });

        var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.DeleteTableAsync(name));
        Assert.Equal("ValidationException", e.ErrorCode);
        Assert.Equal("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.", e.Message);
        Assert.True((await client.DescribeTableAsync(name)).Table.DeletionProtectionEnabled);

        await client.UpdateTableAsync(new UpdateTableRequest { TableName = name, DeletionProtectionEnabled = false });
        var deleted = (await client.DeleteTableAsync(name)).TableDescription;
        Assert.Equal(TableStatus.DELETING, deleted.TableStatus);
        Assert.Null(deleted.KeySchema);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.DescribeTableAsync(name));
    }

    [Fact]
    public async Task UpdateTable_DeletionProtectionWithOtherChanges_IsRefused()
    {
        using var client = _host.CreateClient();
        var name = await CreateAsync(client, "protect2");

        var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = name,
            DeletionProtectionEnabled = true,
            TableClass = TableClass.STANDARD_INFREQUENT_ACCESS,
        }));

        Assert.Equal("One or more parameter values were invalid: DeletionProtection modification must be the only operation in the request", e.Message);
    }

    [Fact]
    public async Task Tags_RoundTripThroughTagListAndUntag()
    {
        using var client = _host.CreateClient();
        var name = await CreateAsync(client, "tags");
        var arn = (await client.DescribeTableAsync(name)).Table.TableArn;

        await client.TagResourceAsync(new TagResourceRequest { ResourceArn = arn, Tags = [new Tag { Key = "env", Value = "test" }, new Tag { Key = "team", Value = "db" }] });
        var tagged = await client.ListTagsOfResourceAsync(new ListTagsOfResourceRequest { ResourceArn = arn });
        await client.UntagResourceAsync(new UntagResourceRequest { ResourceArn = arn, TagKeys = ["env"] });
        var untagged = await client.ListTagsOfResourceAsync(new ListTagsOfResourceRequest { ResourceArn = arn });

        Assert.Equal(["env=test", "team=db"], tagged.Tags.Select(t => $"{t.Key}={t.Value}").Order());
        Assert.Equal(["team=db"], untagged.Tags.Select(t => $"{t.Key}={t.Value}"));
    }

    [Fact]
    public async Task TagResource_WithAwsPrefix_IsRejected()
    {
        using var client = _host.CreateClient();
        var name = await CreateAsync(client, "tags2");
        var arn = (await client.DescribeTableAsync(name)).Table.TableArn;

        var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(() =>
            client.TagResourceAsync(new TagResourceRequest { ResourceArn = arn, Tags = [new Tag { Key = "aws:x", Value = "v" }] }));

        Assert.Equal("ValidationException", e.ErrorCode);
        Assert.Equal("Tag Key cannot be prefixed with aws:, Key: aws:x", e.Message);
    }

    [Fact]
    public async Task DescribeLimits_ReturnsAwsDefaults()
    {
        using var client = _host.CreateClient();

        var limits = await client.DescribeLimitsAsync(new DescribeLimitsRequest());

        Assert.Equal(80000, limits.AccountMaxReadCapacityUnits);
        Assert.Equal(80000, limits.AccountMaxWriteCapacityUnits);
        Assert.Equal(40000, limits.TableMaxReadCapacityUnits);
        Assert.Equal(40000, limits.TableMaxWriteCapacityUnits);
    }

    [Fact]
    public async Task CreateTable_Twice_ThrowsResourceInUse()
    {
        using var client = _host.CreateClient();
        var name = await CreateAsync(client, "dup");

        var e = await Assert.ThrowsAsync<ResourceInUseException>(() => client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
        }));

        Assert.Equal("ResourceInUseException", e.ErrorCode);
        Assert.Equal($"Table already exists: {name}", e.Message);
    }

    [Fact]
    public async Task MissingTable_ControlPlaneNamesTheTable_DataPlaneDoesNot()
    {
        using var client = _host.CreateClient();
        var name = NewName("missing");

        var describe = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.DescribeTableAsync(name));
        var delete = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.DeleteTableAsync(name));
        var update = await Assert.ThrowsAsync<ResourceNotFoundException>(() =>
            client.UpdateTableAsync(new UpdateTableRequest { TableName = name, BillingMode = BillingMode.PAY_PER_REQUEST }));
        var get = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.GetItemAsync(name, Key("a")));
        var put = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.PutItemAsync(name, Key("a")));
        var upd = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.UpdateItemAsync(new UpdateItemRequest { TableName = name, Key = Key("a") }));
        var del = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.DeleteItemAsync(name, Key("a")));

        var controlPlane = $"Requested resource not found: Table: {name} not found";
        Assert.All(new[] { describe, delete, update }, e => Assert.Equal(controlPlane, e.Message));
        Assert.All(new[] { get, put, upd, del }, e => Assert.Equal("Requested resource not found", e.Message));
    }
}
