using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Serverless.IntegrationTests.Host;

/// <summary>
/// Mutated requests of every operation, sent as raw HTTP to a host of its own: none may get a 5xx or hurt the host,
/// every refusal is a DynamoDB error body, and every valid write acknowledged on the way must read back afterwards,
/// also after the host is killed (SIGKILL) and recovers. The seed is fixed, so a failure
/// repeats. <c>FUZZ_REQUESTS</c> sets the size (default 10,000; the long run is <c>FUZZ_REQUESTS=100000</c>) and
/// <c>FUZZ_SEED</c> the seed.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const string Table = "fuzz";
    private const string Ledger = "fuzzledger";

    [Fact]
    public async Task MutatedRequests_NeverGet5xx_AndAcknowledgedWritesSurvive()
    {
        var total = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_REQUESTS"), CultureInfo.InvariantCulture, out var n) ? n : 10_000;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 16;
        await using var host = await HostProcess.StartAsync();
        using var client = host.CreateClient();
        await CreateTablesAsync(client);
        var streamArn = (await client.DescribeTableAsync(Table)).Table.LatestStreamArn;
        await client.PutItemAsync(Table, new() { ["pk"] = new AttributeValue { S = "a" }, ["sk"] = new AttributeValue { N = "1" } });

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8 }) { BaseAddress = new Uri(host.ServiceUrl), Timeout = TimeSpan.FromSeconds(30) };
        var (_, described) = await SendAsync(http, "DescribeStream", Encoding.UTF8.GetBytes("{\"StreamArn\":\"" + streamArn + "\"}"));
        var shardId = JsonDocument.Parse(described).RootElement.GetProperty("StreamDescription").GetProperty("Shards")[0].GetProperty("ShardId").GetString()!;
        var (_, issued) = await SendAsync(http, "GetShardIterator", Encoding.UTF8.GetBytes("{\"StreamArn\":\"" + streamArn + "\",\"ShardId\":\"" + shardId + "\",\"ShardIteratorType\":\"TRIM_HORIZON\"}"));
        var iterator = JsonDocument.Parse(issued).RootElement.GetProperty("ShardIterator").GetString()!;
        var templates = Templates(streamArn, shardId, iterator);

        // Unmutated, every template is a valid request: so mutations start from requests that reach the operation.
        var invalid = new List<string>();
        foreach (var (operation, json) in templates)
        {
            var (status, answer) = await SendAsync(http, operation, Encoding.UTF8.GetBytes(json));
            if (status != 200 && !(status == 400 && (answer.Contains("NotFoundException", StringComparison.Ordinal) || answer.Contains("InvalidRestoreTimeException", StringComparison.Ordinal)))) invalid.Add($"{operation}: {status} {answer}");
        }

        Assert.True(invalid.Count == 0, string.Join("\n", invalid));
        var failures = new List<string>();
        var statusCounts = new Dictionary<int, int>();
        var acknowledged = new Dictionary<string, string>();
        var next = 0;
        var started = DateTime.UtcNow;

        async Task Worker(int worker)
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next) - 1;
                if (i >= total) return;

                // Each request's randomness depends only on the seed and its number, not on thread timing.
                var random = new Random(HashCode.Combine(seed, i) & int.MaxValue);
                if (i % 10 == 0)
                {
                    var key = "w" + i.ToString(CultureInfo.InvariantCulture);
                    var value = Convert.ToBase64String(RandomBytes(random, 1 + random.Next(40)));
                    var put = "{\"TableName\":\"" + Ledger + "\",\"Item\":{\"id\":{\"S\":\"" + key + "\"},\"v\":{\"S\":\"" + value + "\"}}}";
                    var (status, _) = await SendAsync(http, "PutItem", Encoding.UTF8.GetBytes(put));
                    Count(status);
                    if (status == 200)
                        lock (acknowledged) acknowledged[key] = value;
                    else if (status >= 500) Fail($"valid PutItem {key}: {status}");
                    continue;
                }

                var (operation, template) = templates[random.Next(templates.Count)];
                var body = Mutate(template, random);
                var (code, answer) = await SendAsync(http, operation, body);
                Count(code);
                if (code >= 500 || (code != 200 && !IsDynamoError(answer)))
                    Fail($"{operation} #{i}: {code} {(answer.Length > 300 ? answer[..300] : answer)}\n  request: {Printable(body)}");
            }
        }

        void Count(int status)
        {
            lock (statusCounts) statusCounts[status] = statusCounts.GetValueOrDefault(status) + 1;
        }

        void Fail(string message)
        {
            lock (failures)
                if (failures.Count < 30) failures.Add(message);
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(Worker));
        var elapsed = DateTime.UtcNow - started;
        output.WriteLine($"{total} requests (seed {seed}) in {elapsed.TotalSeconds:F1} s; statuses: " +
                         string.Join(", ", statusCounts.OrderBy(p => p.Key).Select(p => $"{p.Key}×{p.Value}")));

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.False(host.HasExited, host.Output);

        // Every acknowledged write reads back, by a real client: at once, and after a crash (SIGKILL) and recovery.
        Assert.NotEmpty(acknowledged);
        await AssertReadableAsync(client, acknowledged);
        await host.KillAsync();
        await host.RestartAsync();
        using var recovered = host.CreateClient();
        await AssertReadableAsync(recovered, acknowledged);
    }

    private static async Task AssertReadableAsync(Amazon.DynamoDBv2.AmazonDynamoDBClient client, Dictionary<string, string> acknowledged)
    {
        foreach (var (key, value) in acknowledged)
        {
            var item = (await client.GetItemAsync(new GetItemRequest { TableName = Ledger, Key = new() { ["id"] = new AttributeValue { S = key } }, ConsistentRead = true })).Item;
            Assert.True(item is { Count: > 0 } && item["v"].S == value, $"acknowledged write {key} is not readable");
        }
    }

    /// <summary>A refusal must still be DynamoDB's error shape: a JSON object with a <c>__type</c>.</summary>
    private static bool IsDynamoError(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("__type", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static async Task<(int Status, string Body)> SendAsync(HttpClient http, string operation, byte[] body)
    {
        var prefix = operation is "ListStreams" or "DescribeStream" or "GetShardIterator" or "GetRecords" ? "DynamoDBStreams_20120810." : "DynamoDB_20120810.";
        var response = await RawApi.PostAsync(http, prefix + operation, body);
        return ((int)response.Status, Encoding.UTF8.GetString(response.Body));
    }

    private static async Task CreateTablesAsync(Amazon.DynamoDBv2.AmazonDynamoDBClient client)
    {
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = Table,
            BillingMode = Amazon.DynamoDBv2.BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new("pk", "S"), new("sk", "N"), new("g", "S")],
            KeySchema = [new("pk", "HASH"), new("sk", "RANGE")],
            GlobalSecondaryIndexes = [new() { IndexName = "gsi", KeySchema = [new("g", "HASH")], Projection = new() { ProjectionType = "ALL" } }],
            StreamSpecification = new() { StreamEnabled = true, StreamViewType = "NEW_AND_OLD_IMAGES" },
        });
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = Ledger,
            BillingMode = Amazon.DynamoDBv2.BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new("id", "S")],
            KeySchema = [new("id", "HASH")],
        });
    }

    /// <summary>A valid request of every operation in the engine's table, on the fuzz table.</summary>
    private static List<(string Operation, string Json)> Templates(string streamArn, string shardId, string iterator)
    {
        const string key = """{"pk":{"S":"a"},"sk":{"N":"1"}}""";
        const string item = """{"pk":{"S":"a"},"sk":{"N":"1"},"g":{"S":"x"},"b":{"B":"AAEC"},"l":{"L":[{"N":"1"},{"S":"s"}]},"m":{"M":{"n":{"NULL":true}}},"ss":{"SS":["a","b"]},"bs":{"BS":["AQ=="]},"t":{"BOOL":true}}""";
        var tableArn = "arn:aws:dynamodb:us-east-1:000000000000:table/" + Table;
        List<(string Operation, string Json)> templates =
        [
            ("CreateTable", """{"TableName":"fuzzcreated","AttributeDefinitions":[{"AttributeName":"h","AttributeType":"S"}],"KeySchema":[{"AttributeName":"h","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}"""),
            ("DescribeTable", """{"TableName":"@TABLE"}"""),
            ("DeleteTable", """{"TableName":"fuzzgone"}"""),
            ("UpdateTable", """{"TableName":"@TABLE","BillingMode":"PAY_PER_REQUEST"}"""),
            ("ListTables", """{"Limit":5,"ExclusiveStartTableName":"aaa"}"""),
            ("TagResource", """{"ResourceArn":"@TARN","Tags":[{"Key":"k","Value":"v"}]}"""),
            ("UntagResource", """{"ResourceArn":"@TARN","TagKeys":["k"]}"""),
            ("ListTagsOfResource", """{"ResourceArn":"@TARN"}"""),
            ("DescribeLimits", "{}"),
            ("DescribeEndpoints", "{}"),
            ("PutItem", """{"TableName":"@TABLE","Item":@ITEM,"ConditionExpression":"attribute_not_exists(#p) OR size(#l) < :n OR attribute_exists(#p)","ExpressionAttributeNames":{"#p":"pk","#l":"l"},"ExpressionAttributeValues":{":n":{"N":"5"}},"ReturnValues":"ALL_OLD"}"""),
            ("GetItem", """{"TableName":"@TABLE","Key":@KEY,"ProjectionExpression":"#g, l[0], m.n","ExpressionAttributeNames":{"#g":"g"},"ConsistentRead":true}"""),
            ("UpdateItem", """{"TableName":"@TABLE","Key":@KEY,"UpdateExpression":"SET #c = if_not_exists(#c, :z) + :one, l = list_append(if_not_exists(l, :e), :l) REMOVE gone ADD ss :s DELETE bs :b","ExpressionAttributeNames":{"#c":"c"},"ExpressionAttributeValues":{":z":{"N":"0"},":one":{"N":"1"},":l":{"L":[{"S":"x"}]},":e":{"L":[]},":s":{"SS":["c"]},":b":{"BS":["AQ=="]}},"ReturnValues":"UPDATED_NEW"}"""),
            ("DeleteItem", """{"TableName":"@TABLE","Key":{"pk":{"S":"d"},"sk":{"N":"2"}},"ConditionExpression":"attribute_not_exists(pk) OR begins_with(pk, :d)","ExpressionAttributeValues":{":d":{"S":"d"}},"ReturnValues":"ALL_OLD"}"""),
            ("BatchGetItem", """{"RequestItems":{"@TABLE":{"Keys":[@KEY,{"pk":{"S":"b"},"sk":{"N":"3"}}],"ProjectionExpression":"pk"}}}"""),
            ("BatchWriteItem", """{"RequestItems":{"@TABLE":[{"PutRequest":{"Item":@ITEM}},{"DeleteRequest":{"Key":{"pk":{"S":"e"},"sk":{"N":"9"}}}}]}}"""),
            ("TransactWriteItems", """{"TransactItems":[{"Put":{"TableName":"@TABLE","Item":{"pk":{"S":"t"},"sk":{"N":"1"}}}},{"Update":{"TableName":"@TABLE","Key":{"pk":{"S":"t"},"sk":{"N":"2"}},"UpdateExpression":"SET v = :v","ExpressionAttributeValues":{":v":{"S":"v"}}}},{"ConditionCheck":{"TableName":"@TABLE","Key":@KEY,"ConditionExpression":"attribute_exists(pk)"}},{"Delete":{"TableName":"@TABLE","Key":{"pk":{"S":"t"},"sk":{"N":"3"}}}}],"ClientRequestToken":"tok"}"""),
            ("TransactGetItems", """{"TransactItems":[{"Get":{"TableName":"@TABLE","Key":@KEY}}]}"""),
            ("ExecuteStatement", """{"Statement":"SELECT pk, l[0] FROM \"@TABLE\" WHERE pk = ? AND sk BETWEEN ? AND ?","Parameters":[{"S":"a"},{"N":"0"},{"N":"9"}],"Limit":3}"""),
            ("BatchExecuteStatement", """{"Statements":[{"Statement":"UPDATE \"@TABLE\" SET v = ? WHERE pk = ? AND sk = ?","Parameters":[{"S":"v"},{"S":"a"},{"N":"1"}]},{"Statement":"DELETE FROM \"@TABLE\" WHERE pk = 'q' AND sk = 1"}]}"""),
            ("ExecuteTransaction", """{"TransactStatements":[{"Statement":"INSERT INTO \"@TABLE\" VALUE {'pk': ?, 'sk': 5}","Parameters":[{"S":"i"}]},{"Statement":"DELETE FROM \"@TABLE\" WHERE pk = 'z' AND sk = 1"}]}"""),
            ("Query", """{"TableName":"@TABLE","KeyConditionExpression":"pk = :p AND sk > :s","FilterExpression":"contains(ss, :c) OR begins_with(g, :c)","ExpressionAttributeValues":{":p":{"S":"a"},":s":{"N":"0"},":c":{"S":"a"}},"Limit":10,"ScanIndexForward":false,"ExclusiveStartKey":@KEY}"""),
            ("Query", """{"TableName":"@TABLE","IndexName":"gsi","KeyConditions":{"g":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"x"}]}},"QueryFilter":{"t":{"ComparisonOperator":"NOT_NULL"}}}"""),
            ("Scan", """{"TableName":"@TABLE","FilterExpression":"attribute_type(l, :t) AND NOT (sk IN (:a, :b))","ExpressionAttributeValues":{":t":{"S":"L"},":a":{"N":"7"},":b":{"N":"8"}},"Segment":0,"TotalSegments":2,"Select":"ALL_ATTRIBUTES"}"""),
            ("UpdateTimeToLive", """{"TableName":"@TABLE","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"ttl"}}"""),
            ("DescribeTimeToLive", """{"TableName":"@TABLE"}"""),
            ("UpdateContinuousBackups", """{"TableName":"@TABLE","PointInTimeRecoverySpecification":{"PointInTimeRecoveryEnabled":true}}"""),
            ("DescribeContinuousBackups", """{"TableName":"@TABLE"}"""),
            ("RestoreTableToPointInTime", """{"SourceTableName":"@TABLE","TargetTableName":"fuzzrestored","UseLatestRestorableTime":true}"""),
            ("CreateBackup", """{"TableName":"@TABLE","BackupName":"fuzzbackup"}"""),
            ("DescribeBackup", """{"BackupArn":"@TARN/backup/01234567890123-abcdefgh"}"""),
            ("ListBackups", """{"TableName":"@TABLE","Limit":2}"""),
            ("DeleteBackup", """{"BackupArn":"@TARN/backup/01234567890123-abcdefgh"}"""),
            ("RestoreTableFromBackup", """{"TargetTableName":"fuzzfrombackup","BackupArn":"@TARN/backup/01234567890123-abcdefgh"}"""),
            ("ListStreams", """{"TableName":"@TABLE","Limit":3}"""),
            ("DescribeStream", """{"StreamArn":"@SARN","Limit":10}"""),
            ("GetShardIterator", """{"StreamArn":"@SARN","ShardId":"@SHARD","ShardIteratorType":"TRIM_HORIZON"}"""),
            ("GetRecords", """{"ShardIterator":"@ITER","Limit":10}"""),
        ];
        return templates.ConvertAll(t => (t.Operation, t.Json.Replace("@ITEM", item).Replace("@KEY", key).Replace("@TABLE", Table).Replace("@TARN", tableArn).Replace("@SARN", streamArn).Replace("@SHARD", shardId).Replace("@ITER", iterator)));
    }

    private static byte[] Mutate(string template, Random random)
    {
        var node = JsonNode.Parse(template)!;
        var mutations = 1 + random.Next(3);
        for (var m = 0; m < mutations; m++) node = MutateTree(node, random);
        var bytes = Encoding.UTF8.GetBytes(node.ToJsonString(DeepWriting));
        return random.Next(6) == 0 ? MutateBytes(bytes, random) : bytes;
    }

    private static readonly JsonSerializerOptions DeepWriting = new() { MaxDepth = 20_000 };

    private static JsonNode MutateTree(JsonNode root, Random random)
    {
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        var target = nodes[random.Next(nodes.Count)];
        var replacement = Replacement(target, random);
        if (target.Parent is null) return replacement ?? root;
        switch (target.Parent)
        {
            case JsonObject obj:
                var name = target.GetPropertyName();
                if (replacement is null) obj.Remove(name);
                else obj[name] = replacement;
                if (random.Next(8) == 0) obj[RandomText(random, 1 + random.Next(12))] = Replacement(JsonValue.Create(1), random) ?? JsonValue.Create(0);
                break;
            case JsonArray array:
                var index = target.GetElementIndex();
                if (replacement is null) array.RemoveAt(index);
                else array[index] = replacement;
                break;
        }

        return root;
    }

    private static void Collect(JsonNode? node, List<JsonNode> nodes)
    {
        if (node is null) return;
        nodes.Add(node);
        switch (node)
        {
            case JsonObject obj:
                foreach (var p in obj) Collect(p.Value, nodes);
                break;
            case JsonArray array:
                foreach (var e in array) Collect(e, nodes);
                break;
        }
    }

    private static readonly string[] ExpressionWords =
    [
        "pk", "sk", "#p", "#c", "#l", ":n", ":v", ":s", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "NOT", "BETWEEN", "IN", "(", ")",
        ",", ".", "[", "]", "0", "99999999999", "-1", "SET", "REMOVE", "ADD", "DELETE", "+", "-", "size", "attribute_exists",
        "attribute_not_exists", "begins_with", "contains", "attribute_type", "if_not_exists", "list_append", "SELECT", "FROM",
        "WHERE", "INSERT", "INTO", "VALUE", "UPDATE", "?", "*", "'x'", "\"fuzz\"", "{", "}", "<<", ">>", "l[0]", "m.n", "\u00e9", "\ud83d\ude00",
    ];

    /// <summary>Something else where <paramref name="target"/> stood, or null to delete it.</summary>
    private static JsonNode? Replacement(JsonNode target, Random random)
    {
        switch (random.Next(16))
        {
            case 0: return null;
            case 1: return JsonValue.Create(random.Next(3) == 0 ? 1e308 : random.Next(-5, 100000));
            case 2: return JsonValue.Create(random.Next(2) == 0);
            case 3: return JsonValue.Create(RandomText(random, random.Next(20)));
            case 4: return new JsonArray(JsonValue.Create("a"), JsonValue.Create(1));
            case 5: return new JsonObject { ["S"] = "x" };
            case 6: return JsonValue.Create(new string('x', random.Next(2) == 0 ? 70_000 : 1_100));
            case 7: return Deep(random.Next(2) == 0 ? 40 : 300, random.Next(2) == 0);
            case 8: return new JsonObject { ["B"] = RandomText(random, 1 + random.Next(9)) };
            case 9: return new JsonObject { [random.Next(2) == 0 ? "N" : "S"] = RandomNumberText(random) };
            case 10: return JsonValue.Create(Expression(random));
            case 11: return JsonValue.Create("\ud800" + RandomText(random, 3));
            case 12: return new JsonObject { [new[] { "S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL", "X" }[random.Next(11)]] = Replacement(JsonValue.Create(0), random) ?? JsonValue.Create(0) };
            case 13: return JsonValue.Create("");
            case 14:
                if (target is JsonArray array)
                {
                    var copy = new JsonArray();
                    for (var i = 0; i < 30 + random.Next(100); i++) copy.Add(array.Count > 0 ? array[0]!.DeepClone() : JsonValue.Create(i));
                    return copy;
                }

                return target.DeepClone();
            default:
                return target is JsonValue v && v.TryGetValue<string>(out var text) ? JsonValue.Create(text + text) : new JsonObject();
        }
    }

    private static JsonNode Deep(int depth, bool objects)
    {
        JsonNode node = new JsonObject { ["S"] = "x" };
        for (var i = 0; i < depth; i++) node = objects ? new JsonObject { ["M"] = new JsonObject { ["k"] = node } } : new JsonObject { ["L"] = new JsonArray(node) };
        return node;
    }

    private static string Expression(Random random)
    {
        var words = new StringBuilder();
        var count = 1 + random.Next(25);
        for (var i = 0; i < count; i++) words.Append(ExpressionWords[random.Next(ExpressionWords.Length)]).Append(random.Next(4) == 0 ? "" : " ");
        return words.ToString();
    }

    private static string RandomNumberText(Random random) => random.Next(6) switch
    {
        0 => " 1 ",
        1 => "1e999",
        2 => "-0.0000000000000000000000000000000000000001",
        3 => "NaN",
        4 => new string('9', 40),
        _ => random.Next().ToString(CultureInfo.InvariantCulture) + "." + random.Next(),
    };

    private static string RandomText(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = (char)(random.Next(5) == 0 ? random.Next(0x20, 0x3000) : random.Next('a', 'z' + 1));
        return new string(chars).Replace('\ud800', 'a');
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Damage below the JSON level: truncation, a raw byte that is not UTF-8, a lone surrogate escape, stray bytes.</summary>
    private static byte[] MutateBytes(byte[] bytes, Random random)
    {
        var list = new List<byte>(bytes);
        var at = random.Next(list.Count + 1);
        switch (random.Next(6))
        {
            case 0:
                return bytes[..random.Next(bytes.Length)];
            case 1:
            {
                // A raw invalid byte inside a string value.
                var quote = list.IndexOf((byte)'"', Math.Min(at, list.Count - 1));
                list.Insert(quote < 0 ? at : quote + 1, (byte)(0xF8 + random.Next(8)));
                break;
            }
            case 2:
            {
                var quote = list.IndexOf((byte)'"', Math.Min(at, list.Count - 1));
                list.InsertRange(quote < 0 ? at : quote + 1, Encoding.ASCII.GetBytes(random.Next(2) == 0 ? "\\ud800" : "\\udc00\\ud83d"));
                break;
            }
            case 3:
                list.Insert(at, (byte)"{}[],:\"\\0"[random.Next(9)]);
                break;
            case 4:
                list.InsertRange(at, [0xC3, 0x28]); // an overlong-free but invalid two-byte sequence
                break;
            default:
                if (list.Count > 0) list.RemoveAt(Math.Min(at, list.Count - 1));
                break;
        }

        return [.. list];
    }

    private static string Printable(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        return text.Length > 600 ? text[..600] + "…" : text;
    }
}
