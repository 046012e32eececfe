using System.Net;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Validation;

/// <summary>
/// Every case of <c>validation-golden.json</c> (a request, and the <c>__type</c> and message DynamoDB answers it
/// with) sent over HTTP to the real host: which error wins when a request is wrong in several ways (shape first,
/// then the constraint list, then the attribute values, then the table and its schema).
/// </summary>
[Collection(SharedHostCollection.Name)]
public sealed class ValidationGoldenTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    private static string GoldenPath => Path.Combine(RepositoryLayout.Root, "tests", "Serverless.IntegrationTests", "Validation", "validation-golden.json");

    [Fact]
    public async Task EveryGoldenCase_GetsAwsErrorAndMessage()
    {
        using var client = _host.CreateClient();
        var hash = NewName("golden-hash");
        var range = NewName("golden-range");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = hash, BillingMode = Amazon.DynamoDBv2.BillingMode.PAY_PER_REQUEST,
            KeySchema = [new("a", Amazon.DynamoDBv2.KeyType.HASH)], AttributeDefinitions = [new("a", Amazon.DynamoDBv2.ScalarAttributeType.S)],
        });
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = range, BillingMode = Amazon.DynamoDBv2.BillingMode.PAY_PER_REQUEST,
            KeySchema = [new("a", Amazon.DynamoDBv2.KeyType.HASH), new("b", Amazon.DynamoDBv2.KeyType.RANGE)],
            AttributeDefinitions = [new("a", Amazon.DynamoDBv2.ScalarAttributeType.S), new("b", Amazon.DynamoDBv2.ScalarAttributeType.S)],
        });

        var gsi = NewName("golden-gsi");
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = gsi, BillingMode = Amazon.DynamoDBv2.BillingMode.PAY_PER_REQUEST,
            KeySchema = [new("a", Amazon.DynamoDBv2.KeyType.HASH)],
            AttributeDefinitions = [new("a", Amazon.DynamoDBv2.ScalarAttributeType.S), new("g", Amazon.DynamoDBv2.ScalarAttributeType.S), new("h", Amazon.DynamoDBv2.ScalarAttributeType.S)],
            GlobalSecondaryIndexes =
            [
                new() { IndexName = "gsi", KeySchema = [new("g", Amazon.DynamoDBv2.KeyType.HASH), new("h", Amazon.DynamoDBv2.KeyType.RANGE)], Projection = new() { ProjectionType = "ALL" } },
            ],
        });

        using var golden = JsonDocument.Parse(await File.ReadAllTextAsync(GoldenPath));
        var cases = golden.RootElement.GetProperty("cases");
        Assert.True(cases.GetArrayLength() >= 46, "the golden file lost its cases");
        // 454 nested ORs of a<b hold 909 operators in under 4 KB: DynamoDB stops counting at the 301st.
        var cond454 = "a<b " + string.Concat(Enumerable.Repeat("or (a<b ", 454)) + new string(')', 454);
        var not1000 = string.Concat(Enumerable.Repeat("not ", 1000)) + "a<b";
        string Fill(string text) => text.Replace("$HASH", hash, StringComparison.Ordinal).Replace("$RANGE", range, StringComparison.Ordinal)
            .Replace("$GSI", gsi, StringComparison.Ordinal).Replace("$LONG256", new string('a', 256), StringComparison.Ordinal)
            .Replace("$KEY2049", new string('k', 2049), StringComparison.Ordinal).Replace("$KEY1025", new string('k', 1025), StringComparison.Ordinal)
            .Replace("$NAME65536", new string('n', 65536), StringComparison.Ordinal).Replace("$COND454", cond454, StringComparison.Ordinal)
            .Replace("$NOT1000", not1000, StringComparison.Ordinal);

        using var http = _host.CreateHttpClient();
        var failures = new List<string>();
        var rules = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in cases.EnumerateArray())
        {
            var name = c.GetProperty("name").GetString()!;
            rules.Add(c.GetProperty("rule").GetString()!);
            var response = await RawApi.PostAsync(http, "DynamoDB_20120810." + c.GetProperty("target").GetString(), Fill(c.GetProperty("request").GetRawText()));
            var body = response.Json();
            var type = body.GetProperty("__type").GetString();
            var message = body.TryGetProperty("message", out var m) ? m.GetString() : body.TryGetProperty("Message", out var mm) ? mm.GetString() : null;
            var wantType = c.GetProperty("type").GetString();
            var wantMessage = Fill(c.GetProperty("message").GetString()!);
            if (response.Status != HttpStatusCode.BadRequest || type != wantType || message != wantMessage)
                failures.Add($"{name}:\n  want {wantType}: {wantMessage}\n  got  {(int)response.Status} {type}: {message}");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(4, rules.Count); // every order rule has cases
    }

    [Fact]
    public async Task ThroughSdk_AnInvalidValueWinsOverAMissingTable_AndTheTableOverTheSchema()
    {
        using var client = _host.CreateClient();
        var missing = NewName("nosuch");
        var value = await Assert.ThrowsAsync<Amazon.DynamoDBv2.AmazonDynamoDBException>(() => client.GetItemAsync(new GetItemRequest
        {
            TableName = missing, Key = new() { ["a"] = new AttributeValue { N = " 1 " } },
        }));
        Assert.Equal("ValidationException", value.ErrorCode);
        Assert.Equal("The parameter cannot be converted to a numeric value:  1 ", value.Message);

        var table = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.GetItemAsync(new GetItemRequest
        {
            TableName = missing, Key = new() { ["wrong"] = new AttributeValue { N = "1" } },
        }));
        Assert.Equal("Requested resource not found", table.Message);
    }
}
