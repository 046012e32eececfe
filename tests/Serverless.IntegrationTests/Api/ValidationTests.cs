using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.Infrastructure.ApiAssert;

namespace Serverless.IntegrationTests.Api;

/// <summary>Golden ValidationException messages, as AWS words them, seen through the SDK.</summary>
[Collection(SharedHostCollection.Name)]
public sealed class ValidationTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    private async Task<(AmazonDynamoDBClient Client, string Table)> TableAsync()
    {
        var client = _host.CreateClient();
        return (client, await SharedAsync(_host, "valid"));
    }

    private static PutItemRequest Put(string table, params (string Name, AttributeValue Value)[] attributes) => new()
    {
        TableName = table,
        Item = attributes.Append(("pk", S(NewKey()))).DistinctBy(a => a.Item1).ToDictionary(a => a.Item1, a => a.Item2),
    };

    [Fact]
    public async Task PutItem_KeyErrors_UseAwsMessages()
    {
        var (client, table) = await TableAsync();
        using var _ = client;

        await AssertValidationAsync("One or more parameter values were invalid: Missing the key pk in the item",
            () => client.PutItemAsync(table, new() { ["other"] = S("x") }));
        await AssertValidationAsync("One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
            () => client.PutItemAsync(table, new() { ["pk"] = N("1") }));
        await AssertValidationAsync("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk",
            () => client.PutItemAsync(table, new() { ["pk"] = S("") }));
        await AssertValidationAsync("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
            () => client.PutItemAsync(table, new() { ["pk"] = S(new string('k', 2049)) }));
        await client.PutItemAsync(table, new() { ["pk"] = S(new string('k', 2048)) }); // the limit itself is fine
    }

    [Fact]
    public async Task KeyArgument_NotMatchingTheSchema_IsRejected()
    {
        var (client, table) = await TableAsync();
        using var _ = client;
        const string message = "The provided key element does not match the schema";

        await AssertValidationAsync(message, () => client.GetItemAsync(table, new() { ["pk"] = S("a"), ["extra"] = S("b") }));
        await AssertValidationAsync(message, () => client.GetItemAsync(table, new() { ["pk"] = N("1") }));
        await AssertValidationAsync(message, () => client.DeleteItemAsync(table, new() { ["other"] = S("a") }));
        await AssertValidationAsync(message, () => client.UpdateItemAsync(new UpdateItemRequest { TableName = table, Key = new() { ["pk"] = S("a"), ["x"] = N("1") } }));
    }

    [Fact]
    public async Task RangeKeyTable_KeyErrors_UseAwsMessages()
    {
        using var client = _host.CreateClient();
        var table = await SharedRangeTableAsync();

        await AssertValidationAsync("One or more parameter values were invalid: Missing the key sk in the item",
            () => client.PutItemAsync(table, new() { ["pk"] = S("a") }));
        await AssertValidationAsync("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
            () => client.PutItemAsync(table, new() { ["pk"] = S("a"), ["sk"] = S(new string('r', 1025)) }));
        await AssertValidationAsync("The provided key element does not match the schema",
            () => client.GetItemAsync(table, new() { ["pk"] = S("a") }));
    }

    private Task<string> SharedRangeTableAsync() => RangeTables.GetOrAdd(_host.ServiceUrl, _ => new Lazy<Task<string>>(async () =>
    {
        using var c = _host.CreateClient();
        return await CreateAsync(c, "valid-range", ScalarAttributeType.S, ScalarAttributeType.S);
    })).Value;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<string>>> RangeTables = new();

    [Fact]
    public async Task PutItem_OverFourHundredKilobytes_IsRejected()
    {
        var (client, table) = await TableAsync();
        using var _ = client;

        await AssertValidationAsync("Item size has exceeded the maximum allowed size",
            () => client.PutItemAsync(Put(table, ("big", S(new string('x', 400 * 1024))))));
    }

    [Fact]
    public async Task AttributeValues_InvalidSetsAndNumbers_AreRejected()
    {
        var (client, table) = await TableAsync();
        using var _ = client;

        await AssertValidationAsync("One or more parameter values were invalid: An string set  may not be empty",
            () => client.PutItemAsync(Put(table, ("s", new AttributeValue { SS = [] }))));
        await AssertValidationAsync("One or more parameter values were invalid: An number set  may not be empty",
            () => client.PutItemAsync(Put(table, ("s", new AttributeValue { NS = [] }))));
        await AssertValidationAsync("One or more parameter values were invalid: Binary sets should not be empty",
            () => client.PutItemAsync(Put(table, ("s", new AttributeValue { BS = [] }))));
        await AssertValidationAsync("One or more parameter values were invalid: Input collection [a, a] contains duplicates.",
            () => client.PutItemAsync(Put(table, ("s", new AttributeValue { SS = ["a", "a"] }))));
        await AssertValidationAsync("Input collection contains duplicates",
            () => client.PutItemAsync(Put(table, ("s", new AttributeValue { NS = ["1", "1.0"] }))));
        await AssertValidationAsync("The parameter cannot be converted to a numeric value: abc",
            () => client.PutItemAsync(Put(table, ("n", N("abc")))));
        await AssertValidationAsync("Number overflow. Attempting to store a number with magnitude larger than supported range",
            () => client.PutItemAsync(Put(table, ("n", N("1e126")))));
        await AssertValidationAsync("Number underflow. Attempting to store a number with magnitude smaller than supported range",
            () => client.PutItemAsync(Put(table, ("n", N("1e-131")))));
        await AssertValidationAsync("Attempting to store more than 38 significant digits in a Number",
            () => client.PutItemAsync(Put(table, ("n", N("123456789012345678901234567890123456789")))));
        await AssertValidationAsync("One or more parameter values were invalid: Null attribute value types must have the value of true",
            () => client.PutItemAsync(Put(table, ("z", new AttributeValue { NULL = false }))));
        await AssertValidationAsync("ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a numeric value: x for key :v",
            () => client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table, Key = Key("k"), UpdateExpression = "SET a = :v",
                ExpressionAttributeValues = new() { [":v"] = N("x") },
            }));
    }

    [Fact]
    public async Task Expressions_PlaceholderAndSyntaxErrors_UseAwsMessages()
    {
        var (client, table) = await TableAsync();
        using var _ = client;

        await AssertValidationAsync("Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}",
            () => client.PutItemAsync(new PutItemRequest
            {
                TableName = table, Item = Key("k"), ConditionExpression = "attribute_not_exists(pk)",
                ExpressionAttributeValues = new() { [":unused"] = N("1") },
            }));
        await AssertValidationAsync("Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}",
            () => client.GetItemAsync(new GetItemRequest
            {
                TableName = table, Key = Key("k"), ProjectionExpression = "pk",
                ExpressionAttributeNames = new() { ["#a"] = "a", ["#b"] = "b" },
            }));
        await AssertValidationAsync("Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :missing",
            () => client.DeleteItemAsync(new DeleteItemRequest { TableName = table, Key = Key("k"), ConditionExpression = "a = :missing" }));
        await AssertValidationAsync("Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #x",
            () => client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table, Key = Key("k"), UpdateExpression = "SET #x = :v",
                ExpressionAttributeValues = new() { [":v"] = N("1") },
            }));
        await AssertValidationAsync("Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status",
            () => client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table, Key = Key("k"), UpdateExpression = "SET status = :v",
                ExpressionAttributeValues = new() { [":v"] = N("1") },
            }));
        await AssertValidationAsync("Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name",
            () => client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("k"), ProjectionExpression = "pk, name" }));
        await AssertValidationAsync("Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = :v\"",
            () => client.PutItemAsync(new PutItemRequest
            {
                TableName = table, Item = Key("k"), ConditionExpression = "a = = :v",
                ExpressionAttributeValues = new() { [":v"] = N("1") },
            }));
        await AssertValidationAsync("Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"=\"",
            () => client.UpdateItemAsync(new UpdateItemRequest { TableName = table, Key = Key("k"), UpdateExpression = "SET a =" }));
        await AssertValidationAsync("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, x]",
            () => client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table, Key = Key("k"), UpdateExpression = "SET m = :v REMOVE m.x",
                ExpressionAttributeValues = new() { [":v"] = N("1") },
            }));
    }

    [Fact]
    public async Task ItemOperations_ParameterMisuse_UsesAwsMessages()
    {
        var (client, table) = await TableAsync();
        using var _ = client;

        await AssertValidationAsync("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}",
            () => client.PutItemAsync(new PutItemRequest
            {
                TableName = table, Item = Key("k"), ConditionExpression = "attribute_not_exists(pk)",
                Expected = new() { ["pk"] = new ExpectedAttributeValue { Exists = false } },
            }));
        await AssertValidationAsync("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
            () => client.GetItemAsync(new GetItemRequest { TableName = table, Key = Key("k"), ProjectionExpression = "a", AttributesToGet = ["a"] }));
        await AssertValidationAsync("ReturnValues can only be ALL_OLD or NONE",
            () => client.PutItemAsync(new PutItemRequest { TableName = table, Item = Key("k"), ReturnValues = ReturnValue.ALL_NEW }));
        await AssertValidationAsync("ReturnValues can only be ALL_OLD or NONE",
            () => client.DeleteItemAsync(new DeleteItemRequest { TableName = table, Key = Key("k"), ReturnValues = ReturnValue.UPDATED_NEW }));
        await AssertValidationAsync("One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
            () => client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table, Key = Key("k"), UpdateExpression = "SET pk = :v",
                ExpressionAttributeValues = new() { [":v"] = S("other") },
            }));
        await AssertValidationAsync("One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key",
            () => client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = table, Key = Key("k"),
                AttributeUpdates = new() { ["pk"] = new AttributeValueUpdate { Action = AttributeAction.PUT, Value = S("other") } },
            }));
        await AssertValidationAsync("ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null",
            () => client.PutItemAsync(new PutItemRequest { TableName = table, Item = Key("k"), ExpressionAttributeValues = new() { [":v"] = N("1") } }));
        await AssertValidationAsync("Invalid ConditionExpression: The expression can not be empty;",
            () => client.PutItemAsync(new PutItemRequest { TableName = table, Item = Key("k"), ConditionExpression = "" }));
    }

    public static TheoryData<string, CreateTableRequest> BadCreateTables => new()
    {
        {
            "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3",
            Table("ab", [Hash("pk")], [Def("pk")], BillingMode.PAY_PER_REQUEST)
        },
        {
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            Table(null, [Hash("pk")], [Def("pk")], BillingMode.PAY_PER_REQUEST, new ProvisionedThroughput(1, 1))
        },
        {
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
            Table(null, [Hash("pk")], [Def("pk")], null)
        },
        {
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [pk], AttributeDefinitions: [other]",
            Table(null, [Hash("pk")], [Def("other")], BillingMode.PAY_PER_REQUEST)
        },
        {
            "Invalid KeySchema: Some index key attribute have no definition",
            Table(null, [Hash("pk"), Range("sk")], [Def("pk")], BillingMode.PAY_PER_REQUEST)
        },
        {
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
            Table(null, [Range("pk")], [Def("pk")], BillingMode.PAY_PER_REQUEST)
        },
        {
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            Table(null, [Hash("pk"), Hash("sk")], [Def("pk"), Def("sk")], BillingMode.PAY_PER_REQUEST)
        },
        {
            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
            Table(null, [Hash("pk"), Range("pk")], [Def("pk")], BillingMode.PAY_PER_REQUEST)
        },
        {
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
            Table(null, [Hash("pk")], [Def("pk"), Def("extra")], BillingMode.PAY_PER_REQUEST)
        },
        {
            "1 validation error detected: Value 'BOOL' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
            Table(null, [Hash("pk")], [new AttributeDefinition("pk", "BOOL")], BillingMode.PAY_PER_REQUEST)
        },
        {
            "1 validation error detected: Value '0' at 'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1",
            Table(null, [Hash("pk")], [Def("pk")], null, new ProvisionedThroughput(0, 1))
        },
        {
            "Attribute Name is duplicated: pk",
            Table(null, [Hash("pk")], [Def("pk"), Def("pk")], BillingMode.PAY_PER_REQUEST)
        },
    };

    [Theory]
    [MemberData(nameof(BadCreateTables))]
    public async Task CreateTable_InvalidDefinition_IsRejectedWithAwsMessage(string expected, CreateTableRequest request)
    {
        using var client = _host.CreateClient();

        await AssertValidationAsync(expected, () => client.CreateTableAsync(request));
        if (request.TableName.Length >= 3) Assert.DoesNotContain(request.TableName, (await client.ListTablesAsync(new ListTablesRequest())).TableNames);
    }

    private static KeySchemaElement Hash(string name) => new(name, KeyType.HASH);

    private static KeySchemaElement Range(string name) => new(name, KeyType.RANGE);

    private static AttributeDefinition Def(string name) => new(name, ScalarAttributeType.S);

    private static CreateTableRequest Table(string? name, List<KeySchemaElement> keys, List<AttributeDefinition> defs, BillingMode? mode, ProvisionedThroughput? throughput = null) => new()
    {
        TableName = name ?? NewName("bad"),
        KeySchema = keys,
        AttributeDefinitions = defs,
        BillingMode = mode,
        ProvisionedThroughput = throughput,
    };
}
