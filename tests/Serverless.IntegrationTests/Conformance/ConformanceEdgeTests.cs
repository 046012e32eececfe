using System.Net;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Conformance;

/// <summary>
/// DynamoDB behaviour that public suites run against real DynamoDB expect, through AWSSDK.DynamoDBv2 and raw HTTP:
/// table ARNs where a TableName goes, the legacy filters' EQ and NE on every type, index key limits on writes and
/// in backfill, and the 400 DynamoDB gives an over-long URL.
/// </summary>
[Collection(SharedHostCollection.Name)]
public sealed class ConformanceEdgeTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [Fact]
    public async Task ATableArnOfThisAccount_NamesTheTable_AndAnotherAccountsArn_IsAccessDenied()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "arn");
        var arn = (await client.DescribeTableAsync(table)).Table.TableArn;
        Assert.StartsWith("arn:aws:dynamodb:us-east-1:000000000000:table/", arn, StringComparison.Ordinal);

        await client.PutItemAsync(new PutItemRequest { TableName = arn, Item = new() { ["pk"] = new AttributeValue { S = "k" }, ["v"] = new AttributeValue { N = "1" } } });
        var item = await client.GetItemAsync(new GetItemRequest { TableName = table, Key = new() { ["pk"] = new AttributeValue { S = "k" } }, ConsistentRead = true });
        Assert.Equal("1", item.Item["v"].N);
        Assert.Equal(table, (await client.DescribeTableAsync(arn)).Table.TableName);

        var other = arn.Replace(":000000000000:", ":111122223333:", StringComparison.Ordinal);
        var denied = await Assert.ThrowsAsync<AmazonDynamoDBException>(() =>
            client.GetItemAsync(new GetItemRequest { TableName = other, Key = new() { ["pk"] = new AttributeValue { S = "k" } } }));
        Assert.Equal("AccessDeniedException", denied.ErrorCode);
        Assert.Equal($"User: arn:aws:iam::000000000000:root is not authorized to perform: dynamodb:GetItem on resource: {other} "
            + "because no resource-based policy allows the dynamodb:GetItem action", denied.Message);
        var describe = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.DescribeTableAsync(other));
        Assert.Equal("AccessDeniedException", describe.ErrorCode);
        Assert.Contains("dynamodb:DescribeTable", describe.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LegacyScanFilterAndQueryFilter_EqAndNe_WorkOnListsMapsBooleansAndNulls()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "legacy-eq");
        await client.PutItemAsync(new PutItemRequest
        {
            TableName = table,
            Item = new()
            {
                ["pk"] = new AttributeValue { S = "one" }, ["l"] = new AttributeValue { L = [new AttributeValue { S = "x" }] },
                ["m"] = new AttributeValue { M = new() { ["k"] = new AttributeValue { S = "v" } } }, ["t"] = new AttributeValue { BOOL = true },
                ["z"] = new AttributeValue { NULL = true },
            },
        });
        await client.PutItemAsync(new PutItemRequest
        {
            TableName = table,
            Item = new()
            {
                ["pk"] = new AttributeValue { S = "two" }, ["l"] = new AttributeValue { L = [new AttributeValue { S = "y" }] },
                ["m"] = new AttributeValue { M = new() { ["k"] = new AttributeValue { S = "w" } } }, ["t"] = new AttributeValue { BOOL = false },
            },
        });

        var cases = new (string Attribute, AttributeValue Value)[]
        {
            ("l", new AttributeValue { L = [new AttributeValue { S = "x" }] }),
            ("m", new AttributeValue { M = new() { ["k"] = new AttributeValue { S = "v" } } }),
            ("t", new AttributeValue { BOOL = true }),
            ("z", new AttributeValue { NULL = true }),
        };
        foreach (var (attribute, value) in cases)
        {
            var eq = await client.ScanAsync(new ScanRequest
            {
                TableName = table, ConsistentRead = true,
                ScanFilter = new() { [attribute] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [value] } },
            });
            Assert.Equal(["one"], eq.Items.Select(i => i["pk"].S));
            var ne = await client.ScanAsync(new ScanRequest
            {
                TableName = table, ConsistentRead = true,
                ScanFilter = new() { [attribute] = new Condition { ComparisonOperator = ComparisonOperator.NE, AttributeValueList = [value] } },
            });
            Assert.Equal(["two"], ne.Items.Select(i => i["pk"].S));
        }

        var query = await client.QueryAsync(new QueryRequest
        {
            TableName = table, ConsistentRead = true,
            KeyConditions = new() { ["pk"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [new AttributeValue { S = "one" }] } },
            QueryFilter = new() { ["t"] = new Condition { ComparisonOperator = ComparisonOperator.EQ, AttributeValueList = [new AttributeValue { BOOL = true }] } },
        });
        Assert.Equal(1, query.Count);
    }

    [Fact]
    public async Task IndexKeysOverTheKeyLimits_AreRefusedOnWrites_AndLeftOutOfABackfill()
    {
        using var client = _host.CreateClient();
        var table = await CreateAsync(client, "gsi-len");
        await client.PutItemAsync(new PutItemRequest { TableName = table, Item = new() { ["pk"] = new AttributeValue { S = "long" }, ["g"] = new AttributeValue { S = new string('g', 2049) } } });
        await client.PutItemAsync(new PutItemRequest { TableName = table, Item = new() { ["pk"] = new AttributeValue { S = "short" }, ["g"] = new AttributeValue { S = "g" } } });

        await client.UpdateTableAsync(new UpdateTableRequest
        {
            TableName = table, AttributeDefinitions = [new("g", ScalarAttributeType.S)],
            GlobalSecondaryIndexUpdates = [new() { Create = new() { IndexName = "by-g", KeySchema = [new("g", KeyType.HASH)], Projection = new() { ProjectionType = ProjectionType.ALL } } }],
        });
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while ((await client.DescribeTableAsync(table)).Table.GlobalSecondaryIndexes[0].IndexStatus != IndexStatus.ACTIVE)
        {
            Assert.True(DateTime.UtcNow < deadline, "the index did not become ACTIVE");
            await Task.Delay(200);
        }

        var scan = await client.ScanAsync(new ScanRequest { TableName = table, IndexName = "by-g" });
        Assert.Equal(["short"], scan.Items.Select(i => i["pk"].S));

        var refused = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = table, Key = new() { ["pk"] = new AttributeValue { S = "short" } }, UpdateExpression = "SET g = :g",
            ExpressionAttributeValues = new() { [":g"] = new AttributeValue { S = new string('x', 3000) } },
        }));
        Assert.Equal("One or more parameter values were invalid: Size limit exceeded for Index Key g Actual Size: 3000 bytes Max Size: 2048 bytes IndexName: by-g", refused.Message);
    }

    [Fact]
    public async Task AnOverlongUrl_Gets400_NotKestrels414()
    {
        using var http = _host.CreateHttpClient();
        async Task<(HttpStatusCode Status, string Body)> PostAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("{}", Encoding.UTF8) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(RawApi.ContentType);
            request.Headers.TryAddWithoutValidation("X-Amz-Target", "DynamoDB_20120810.ListTables");
            request.Headers.TryAddWithoutValidation("Authorization", RawApi.FakeAuthorization);
            using var response = await http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var (status, body) = await PostAsync("/" + new string('x', 17000));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.DoesNotContain("InvalidSignatureException", body, StringComparison.Ordinal);

        var (shortStatus, _) = await PostAsync("/garbage");
        Assert.NotEqual(HttpStatusCode.BadRequest, shortStatus);
        var (root, _) = await PostAsync("/");
        Assert.Equal(HttpStatusCode.OK, root);
    }
}
