using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace Serverless.IntegrationTests.Infrastructure;

/// <summary>Helpers the API tests share: reading every page of a Query or Scan, and asserting a ValidationException.</summary>
internal static class ApiAssert
{
    public static async Task AssertValidationAsync(string expected, Func<Task> call)
    {
        var e = await Assert.ThrowsAnyAsync<AmazonDynamoDBException>(call);
        Assert.Equal("ValidationException", e.ErrorCode);
        Assert.Equal(expected, e.Message);
    }

    /// <summary>Runs the query page by page (following LastEvaluatedKey) and returns every item.</summary>
    public static async Task<List<Dictionary<string, AttributeValue>>> QueryAllAsync(IAmazonDynamoDB client, QueryRequest request)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        do
        {
            var response = await client.QueryAsync(request);
            items.AddRange(response.Items ?? []);
            request.ExclusiveStartKey = response.LastEvaluatedKey;
        }
        while (request.ExclusiveStartKey is { Count: > 0 });
        return items;
    }

    /// <summary>Runs the scan page by page (following LastEvaluatedKey) and returns every item.</summary>
    public static async Task<List<Dictionary<string, AttributeValue>>> ScanAllAsync(IAmazonDynamoDB client, ScanRequest request)
    {
        var items = new List<Dictionary<string, AttributeValue>>();
        do
        {
            var response = await client.ScanAsync(request);
            items.AddRange(response.Items ?? []);
            request.ExclusiveStartKey = response.LastEvaluatedKey;
        }
        while (request.ExclusiveStartKey is { Count: > 0 });
        return items;
    }
}
