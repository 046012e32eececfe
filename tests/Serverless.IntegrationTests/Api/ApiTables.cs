using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Api;

/// <summary>Creates uniquely named tables so API tests can share one host.</summary>
internal static class ApiTables
{
    public static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>A PAY_PER_REQUEST table with a hash key <c>pk</c> and, optionally, a range key <c>sk</c>.</summary>
    public static async Task<string> CreateAsync(
        IAmazonDynamoDB client,
        string prefix,
        ScalarAttributeType? hashType = null,
        ScalarAttributeType? rangeType = null)
    {
        var name = NewName(prefix);
        var request = new CreateTableRequest
        {
            TableName = name,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", hashType ?? ScalarAttributeType.S)],
        };
        if (rangeType is not null)
        {
            request.KeySchema.Add(new KeySchemaElement("sk", KeyType.RANGE));
            request.AttributeDefinitions.Add(new AttributeDefinition("sk", rangeType));
        }

        await client.CreateTableAsync(request);
        return name;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<string>>> Shared = new();

    /// <summary>One hash-only (<c>pk</c> S) table per host and purpose, for tests that only need distinct keys.</summary>
    public static Task<string> SharedAsync(HostProcess host, string purpose) =>
        Shared.GetOrAdd(host.ServiceUrl + "|" + purpose, _ => new Lazy<Task<string>>(async () =>
        {
            using var client = host.CreateClient();
            return await CreateAsync(client, purpose);
        })).Value;

    public static string NewKey() => Guid.NewGuid().ToString("N");

    public static AttributeValue S(string s) => new() { S = s };

    public static AttributeValue N(string n) => new() { N = n };

    public static Dictionary<string, AttributeValue> Key(string pk) => new() { ["pk"] = S(pk) };
}
