using System.Net;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;

namespace Serverless.IntegrationTests.Security;

/// <summary>Signature verification through the AWS SDK for .NET: the right keys work, every wrong one gets AWS's error.</summary>
[Collection(KeyedHostCollection.Name)]
public sealed class SdkAuthenticationTests(KeyedHostFixture fixture)
{
    private const string InvalidToken = "The security token included in the request is invalid.";

    [Fact]
    public async Task RightKey_CreatePutGetQuery()
    {
        using var client = fixture.Client(new BasicAWSCredentials(KeyedHostFixture.Alice.AccessKeyId, KeyedHostFixture.Alice.SecretAccessKey));
        var table = "auth-" + Guid.NewGuid().ToString("N");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH), new KeySchemaElement("sk", KeyType.RANGE)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S), new AttributeDefinition("sk", ScalarAttributeType.N)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
        });
        await client.PutItemAsync(table, new Dictionary<string, AttributeValue> { ["pk"] = new("a"), ["sk"] = new() { N = "1" }, ["v"] = new("héllo wörld") });
        var got = await client.GetItemAsync(table, new Dictionary<string, AttributeValue> { ["pk"] = new("a"), ["sk"] = new() { N = "1" } });
        Assert.Equal("héllo wörld", got.Item["v"].S);
        var query = await client.QueryAsync(new QueryRequest
        {
            TableName = table,
            KeyConditionExpression = "pk = :p",
            ExpressionAttributeValues = new Dictionary<string, AttributeValue> { [":p"] = new("a") },
        });
        Assert.Equal(1, query.Count);
    }

    [Fact]
    public async Task TemporaryKey_WithItsSessionToken_Works()
    {
        var bob = KeyedHostFixture.Bob;
        using var client = fixture.Client(new SessionAWSCredentials(bob.AccessKeyId, bob.SecretAccessKey, bob.SessionToken));
        var tables = await client.ListTablesAsync(new ListTablesRequest());
        Assert.Equal(HttpStatusCode.OK, tables.HttpStatusCode);
    }

    [Fact]
    public Task WrongSecret_IsInvalidSignature() => AssertFailsAsync(
        new BasicAWSCredentials(KeyedHostFixture.Alice.AccessKeyId, "not-alice's-secret"),
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");

    [Fact]
    public Task UnknownKey_IsUnrecognizedClient() =>
        AssertFailsAsync(new BasicAWSCredentials("AKIANOBODY000EXAMPLE", "whatever"), "UnrecognizedClientException", InvalidToken);

    [Fact]
    public Task TemporaryKey_WithoutItsToken_IsUnrecognizedClient() => AssertFailsAsync(
        new BasicAWSCredentials(KeyedHostFixture.Bob.AccessKeyId, KeyedHostFixture.Bob.SecretAccessKey), "UnrecognizedClientException", InvalidToken);

    [Fact]
    public Task TemporaryKey_WithAnotherToken_IsUnrecognizedClient() => AssertFailsAsync(
        new SessionAWSCredentials(KeyedHostFixture.Bob.AccessKeyId, KeyedHostFixture.Bob.SecretAccessKey, "IQoJb3JpZ2luX2VjEXAMPLE//other+token="),
        "UnrecognizedClientException", "The security token included in the request is invalid");

    [Fact]
    public Task LongTermKey_WithASessionToken_IsUnrecognizedClient() => AssertFailsAsync(
        new SessionAWSCredentials(KeyedHostFixture.Alice.AccessKeyId, KeyedHostFixture.Alice.SecretAccessKey, "AQoDYXdzEJr-not-a-real-token"),
        "UnrecognizedClientException", "The security token included in the request is invalid");

    private async Task AssertFailsAsync(AWSCredentials credentials, string errorCode, string message)
    {
        using var client = fixture.Client(credentials);
        var e = await Assert.ThrowsAnyAsync<AmazonServiceException>(() => client.ListTablesAsync(new ListTablesRequest()));
        Assert.Equal(errorCode, e.ErrorCode);
        Assert.Equal(message, e.Message);
        Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
    }
}
