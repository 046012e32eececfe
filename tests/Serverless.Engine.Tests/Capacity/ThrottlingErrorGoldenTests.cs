using System.Runtime.CompilerServices;
using System.Text;

namespace Serverless.Engine.Tests.Capacity;

/// <summary>
/// The exact JSON bodies of every capacity error (throttling of tables, GSIs, partition keys and on-demand maximums,
/// a throttled transaction, the decrease limit, the OnDemandThroughput and WarmThroughput checks), against a golden
/// file: <c>throttling-errors.golden.txt</c>, one <c>name TAB body</c> per line. Set <c>UPDATE_GOLDEN=1</c> to rewrite it.
/// </summary>
public class ThrottlingErrorGoldenTests
{
    private const string OnDemandGsi =
        ",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},{\"AttributeName\":\"g\",\"AttributeType\":\"S\"}],\"GlobalSecondaryIndexes\":[{\"IndexName\":\"odgsi\",\"KeySchema\":[{\"AttributeName\":\"g\",\"KeyType\":\"HASH\"}],\"Projection\":{\"ProjectionType\":\"ALL\"},\"OnDemandThroughput\":{\"MaxReadRequestUnits\":1,\"MaxWriteRequestUnits\":1}}]";

    private const string ProvisionedGsi =
        ",\"GlobalSecondaryIndexes\":[{\"IndexName\":\"pgsi\",\"KeySchema\":[{\"AttributeName\":\"g\",\"KeyType\":\"HASH\"}],\"Projection\":{\"ProjectionType\":\"ALL\"},\"ProvisionedThroughput\":{\"ReadCapacityUnits\":1,\"WriteCapacityUnits\":1}}]";

    [Fact]
    public async Task EveryCapacityError_MatchesTheGoldenBodies()
    {
        var bodies = new List<(string Name, string Body)>();
        await using var h = await CapacityHarness.OpenAsync(o => o.PartitionWriteUnits = 50);

        async Task Record(string name, string operation, string json)
        {
            var (status, body) = await h.SendAsync(operation, json);
            Assert.True(status == 400, $"{name}: {operation} answered {status}: {body}");
            bodies.Add((name, body));
        }

        async Task RecordFirstRefusal(string name, string operation, string json)
        {
            for (var i = 0; i < 1000; i++)
            {
                var (status, body) = await h.SendAsync(operation, json);
                if (status == 200) continue;
                bodies.Add((name, body));
                return;
            }

            Assert.Fail(name + ": never refused");
        }

        await h.CreateProvisionedAsync("provisioned", 1, 1, ProvisionedGsi);
        await h.CallAsync("PutItem", CapacityHarness.Put("provisioned", "a"));
        await Record("table-write", "PutItem", CapacityHarness.Put("provisioned", "b"));
        await h.CallAsync("GetItem", CapacityHarness.Get("provisioned", "a", consistent: true));
        await Record("table-read", "GetItem", CapacityHarness.Get("provisioned", "a"));
        await h.CreateProvisionedAsync("withgsi", 100, 100, ProvisionedGsi);
        var (_, gsiWrite) = await h.PutUntilThrottledAsync("withgsi", i => "k" + i, extra: ",\"g\":{\"S\":\"x\"}");
        bodies.Add(("gsi-write", gsiWrite.GetRawText()));
        const string gsiQuery = """{"TableName":"withgsi","IndexName":"pgsi","KeyConditionExpression":"g = :g","ExpressionAttributeValues":{":g":{"S":"x"}}}""";
        await RecordFirstRefusal("gsi-read", "Query", gsiQuery);

        await h.CreateProvisionedAsync("hotkey", 1000, 1000);
        await h.PutUntilThrottledAsync("hotkey", _ => "same");
        await Record("key-range-provisioned", "PutItem", CapacityHarness.Put("hotkey", "same"));
        await h.CreateOnDemandAsync("hotkeyod");
        await h.PutUntilThrottledAsync("hotkeyod", _ => "same");
        await Record("key-range-on-demand", "PutItem", CapacityHarness.Put("hotkeyod", "same"));

        await h.CreateOnDemandAsync("maximums", ",\"OnDemandThroughput\":{\"MaxReadRequestUnits\":1,\"MaxWriteRequestUnits\":1}");
        await h.CallAsync("PutItem", CapacityHarness.Put("maximums", "a"));
        await Record("on-demand-table-write", "PutItem", CapacityHarness.Put("maximums", "b"));
        await h.CallAsync("GetItem", CapacityHarness.Get("maximums", "a", consistent: true));
        await Record("on-demand-table-read", "GetItem", CapacityHarness.Get("maximums", "a"));
        await h.CallAsync("CreateTable",
            """{"TableName":"odindex","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST""" + "\"" + OnDemandGsi + "}");
        await h.CallAsync("PutItem", CapacityHarness.Put("odindex", "a", ",\"g\":{\"S\":\"x\"}"));
        await Record("on-demand-gsi-write", "PutItem", CapacityHarness.Put("odindex", "b", ",\"g\":{\"S\":\"x\"}"));

        await h.CreateProvisionedAsync("transact", 2, 2);
        await Record("transaction", "TransactWriteItems",
            """{"TransactItems":[{"Put":{"TableName":"transact","Item":{"pk":{"S":"a"}}}},{"Put":{"TableName":"transact","Item":{"pk":{"S":"b"}}}}]}""");
        await h.CreateOnDemandAsync("transactod", ",\"OnDemandThroughput\":{\"MaxWriteRequestUnits\":2}");
        await Record("transaction-on-demand", "TransactWriteItems",
            """{"TransactItems":[{"Put":{"TableName":"transactod","Item":{"pk":{"S":"a"}}}},{"Put":{"TableName":"transactod","Item":{"pk":{"S":"b"}}}}]}""");

        await h.CreateProvisionedAsync("decrease", 10, 10);
        for (var rcu = 9; rcu >= 6; rcu--)
            await h.CallAsync("UpdateTable", "{\"TableName\":\"decrease\",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":" + rcu + ",\"WriteCapacityUnits\":10}}");
        await Record("decrease-limit", "UpdateTable", """{"TableName":"decrease","ProvisionedThroughput":{"ReadCapacityUnits":5,"WriteCapacityUnits":10}}""");

        await Record("on-demand-on-provisioned", "UpdateTable", """{"TableName":"decrease","OnDemandThroughput":{"MaxReadRequestUnits":5}}""");
        await Record("on-demand-write-on-provisioned", "CreateTable",
            """{"TableName":"odprov","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"ProvisionedThroughput":{"ReadCapacityUnits":1,"WriteCapacityUnits":1},"OnDemandThroughput":{"MaxWriteRequestUnits":5}}""");
        await Record("on-demand-out-of-range", "CreateTable",
            """{"TableName":"odrange","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST","OnDemandThroughput":{"MaxReadRequestUnits":0}}""");
        await Record("on-demand-index-out-of-range", "UpdateTable",
            """{"TableName":"odindex","GlobalSecondaryIndexUpdates":[{"Update":{"IndexName":"odgsi","OnDemandThroughput":{"MaxWriteRequestUnits":-5}}}]}""");
        await Record("warm-below-provisioned", "CreateTable",
            """{"TableName":"warmlow","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"ProvisionedThroughput":{"ReadCapacityUnits":10,"WriteCapacityUnits":10},"WarmThroughput":{"ReadUnitsPerSecond":5}}""");
        await Record("warm-decrease", "UpdateTable", """{"TableName":"maximums","WarmThroughput":{"ReadUnitsPerSecond":11000}}""");

        var actual = string.Concat(bodies.Select(b => b.Name + "\t" + b.Body + "\n"));
        var path = GoldenPath();
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1") await File.WriteAllTextAsync(path, actual, new UTF8Encoding(false));
        Assert.Equal(await File.ReadAllTextAsync(path), actual);
    }

    private static string GoldenPath([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "throttling-errors.golden.txt");
}
