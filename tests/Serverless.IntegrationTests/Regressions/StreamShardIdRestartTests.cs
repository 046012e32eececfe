using System.Net;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Regressions;

/// <summary>
/// A stream's shard ids are the same in every process, so an id a client saved still reads after a restart; and an
/// update of an absent item that only removes leaves no stream record.
/// </summary>
public sealed class StreamShardIdRestartTests
{
    [Fact]
    public async Task SavedShardId_StillReads_AfterRestart()
    {
        await using var host = await HostProcess.StartAsync();
        string table;
        string streamArn;
        using (var client = host.CreateClient())
        {
            table = NewName("shardids");
            await client.CreateTableAsync(new CreateTableRequest
            {
                TableName = table,
                BillingMode = BillingMode.PAY_PER_REQUEST,
                KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
                AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
                StreamSpecification = new StreamSpecification { StreamEnabled = true, StreamViewType = StreamViewType.KEYS_ONLY },
            });
            streamArn = (await client.DescribeTableAsync(table)).Table.LatestStreamArn;
            await client.PutItemAsync(table, Key("one"));

            // REMOVE alone on an absent item writes nothing, so it adds no stream record either.
            await client.UpdateItemAsync(new UpdateItemRequest { TableName = table, Key = Key("ghost"), UpdateExpression = "REMOVE a" });
        }

        var before = await ShardIdsAsync(host, streamArn);
        await host.RestartAsync();
        var after = await ShardIdsAsync(host, streamArn);

        Assert.NotEmpty(before);
        Assert.Equal(before, after);
        using var http = host.CreateHttpClient();
        var iterator = await StreamsAsync(http, "GetShardIterator", $"{{\"StreamArn\":\"{streamArn}\",\"ShardId\":\"{before[0]}\",\"ShardIteratorType\":\"TRIM_HORIZON\"}}");
        var records = await StreamsAsync(http, "GetRecords", $"{{\"ShardIterator\":\"{iterator.GetProperty("ShardIterator").GetString()}\"}}");
        var record = Assert.Single(records.GetProperty("Records").EnumerateArray());
        Assert.Equal("one", record.GetProperty("dynamodb").GetProperty("Keys").GetProperty("pk").GetProperty("S").GetString());
    }

    private static async Task<List<string>> ShardIdsAsync(HostProcess host, string streamArn)
    {
        using var http = host.CreateHttpClient();
        var description = await StreamsAsync(http, "DescribeStream", $"{{\"StreamArn\":\"{streamArn}\"}}");
        return description.GetProperty("StreamDescription").GetProperty("Shards").EnumerateArray().Select(s => s.GetProperty("ShardId").GetString()!).ToList();
    }

    private static async Task<System.Text.Json.JsonElement> StreamsAsync(HttpClient http, string operation, string body)
    {
        var response = await RawApi.PostAsync(http, "DynamoDBStreams_20120810." + operation, body);
        Assert.True(response.Status == HttpStatusCode.OK, System.Text.Encoding.UTF8.GetString(response.Body));
        return response.Json();
    }
}
