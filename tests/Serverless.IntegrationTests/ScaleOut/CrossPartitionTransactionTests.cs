using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.ScaleOut;

/// <summary>
/// Transactions across the partitions of a store split in four (two-phase commit, docs/scale-out.md) through
/// AWSSDK.DynamoDBv2: the same answers and cancellation reasons as one store, and a bank-transfer run whose total
/// holds at every snapshot and across a SIGKILL between prepare and commit record, and between commit record and
/// phase two.
/// </summary>
public sealed class CrossPartitionTransactionTests
{
    private const string Table = "bank";

    [Fact]
    public async Task CrossPartitionTransactions_AnswerLikeOneStore()
    {
        await using var single = await HostProcess.StartAsync();
        await using var partitioned = await HostProcess.StartAsync(PartitionedStoreTests.FourPartitions());
        using var one = single.CreateClient();
        using var four = partitioned.CreateClient();
        await PartitionedStoreTests.AssertSameAnswersAsync(one, four, RunScenarioAsync);
    }

    [Theory]
    [InlineData("SERVERLESS_TEST_KILL_BEFORE_COMMIT_RECORD")]
    [InlineData("SERVERLESS_TEST_KILL_BEFORE_PHASE_TWO")]
    public async Task BankTransfers_KeepTheirTotal_AcrossAKill(string hook)
    {
        const int Accounts = 12;
        const int Initial = 100;
        var killFile = Path.Combine(Path.GetTempPath(), "twopc-kill-" + Guid.NewGuid().ToString("N"));
        await using var host = await HostProcess.StartAsync(PartitionedStoreTests.FourPartitions((hook, killFile)));
        try
        {
            using (var setup = host.CreateClient())
            {
                await CreateTableAsync(setup);
                for (var a = 0; a < Accounts; a++)
                    await setup.PutItemAsync(Table, new() { ["pk"] = new AttributeValue("acct" + a), ["balance"] = Number(Initial) });
            }

            var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, (int From, int To, int Amount)>();
            var snapshots = 0;
            using var stop = new CancellationTokenSource();
            var clients = Enumerable.Range(0, 3).Select(c => Task.Run(async () =>
            {
                using var client = host.CreateClient(config => config.MaxErrorRetry = 0);
                var random = new Random(c);
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    try
                    {
                        if (c == 2)
                        {
                            // The auditor: every snapshot sums to the initial total.
                            var snapshot = await client.TransactGetItemsAsync(new TransactGetItemsRequest
                            {
                                TransactItems = [.. Enumerable.Range(0, Accounts).Select(a => new TransactGetItem { Get = new Get { TableName = Table, Key = Key("acct" + a) } })],
                            });
                            Assert.Equal(Accounts * Initial, snapshot.Responses.Sum(r => int.Parse(r.Item["balance"].N, CultureInfo.InvariantCulture)));
                            Interlocked.Increment(ref snapshots);
                            continue;
                        }

                        var from = random.Next(Accounts);
                        var to = (from + 1 + random.Next(Accounts - 1)) % Accounts;
                        var amount = 1 + random.Next(5);
                        var id = $"t{c}-{n}";
                        await client.TransactWriteItemsAsync(Transfer(id, from, to, amount));
                        acknowledged[id] = (from, to, amount);
                    }
                    catch (TransactionCanceledException)
                    {
                        // A conflict or an overdraft: nothing applied.
                    }
                    catch (Exception e) when (e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException or TaskCanceledException)
                    {
                        // The host died under the request.
                        if (host.HasExited) return;
                    }
                }
            })).ToArray();

            // Let transfers run, then arm the hook: the next cross-partition transaction kills the host.
            while (acknowledged.Count < 60) await Task.Delay(20);
            var auditedBefore = Volatile.Read(ref snapshots);
            File.WriteAllText(killFile, "");
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!host.HasExited && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.True(host.HasExited, "the hook did not kill the host");
            stop.Cancel();
            await Task.WhenAll(clients);
            Assert.True(auditedBefore > 0, "no snapshot was audited");
            await host.KillAsync();
            File.Delete(killFile);
            await host.RestartAsync();

            using var after = host.CreateClient();
            var items = new List<Dictionary<string, AttributeValue>>();
            var scan = new ScanRequest { TableName = Table, ConsistentRead = true };
            do
            {
                var page = await after.ScanAsync(scan);
                items.AddRange(page.Items);
                scan.ExclusiveStartKey = page.LastEvaluatedKey;
            }
            while (scan.ExclusiveStartKey is { Count: > 0 });

            // The applied transfers are the markers; the balances are exactly the initial ones moved by them.
            var markers = items.Where(i => i["pk"].S.StartsWith('t')).ToDictionary(i => i["pk"].S,
                i => (From: Int(i["from"]), To: Int(i["to"]), Amount: Int(i["amount"])));
            var balances = new int[Accounts];
            Array.Fill(balances, Initial);
            foreach (var (_, (from, to, amount)) in markers)
            {
                balances[from] -= amount;
                balances[to] += amount;
            }

            foreach (var account in items.Where(i => i["pk"].S.StartsWith("acct", StringComparison.Ordinal)))
                Assert.Equal(balances[int.Parse(account["pk"].S[4..], CultureInfo.InvariantCulture)], Int(account["balance"]));
            Assert.Equal(Accounts * Initial, items.Where(i => i["pk"].S.StartsWith("acct", StringComparison.Ordinal)).Sum(i => Int(i["balance"])));
            foreach (var id in acknowledged.Keys) Assert.True(markers.ContainsKey(id), $"acknowledged transfer {id} lost");
            if (hook.EndsWith("PHASE_TWO", StringComparison.Ordinal))
                Assert.True(markers.Keys.Any(id => !acknowledged.ContainsKey(id)), "the committed, unacknowledged transfer was not rolled forward");
            Assert.Empty(Directory.GetFiles(Path.Combine(host.DataDirectory, "twopc")));

            // No item is left locked: a transaction over every account, and a plain write to each, go through.
            await after.TransactWriteItemsAsync(new TransactWriteItemsRequest
            {
                TransactItems = [.. Enumerable.Range(0, Accounts).Select(a => new TransactWriteItem
                {
                    ConditionCheck = new ConditionCheck { TableName = Table, Key = Key("acct" + a), ConditionExpression = "attribute_exists(balance)" },
                })],
            });
            for (var a = 0; a < Accounts; a++)
                await after.UpdateItemAsync(new UpdateItemRequest { TableName = Table, Key = Key("acct" + a), UpdateExpression = "SET touched = :t", ExpressionAttributeValues = new() { [":t"] = Number(1) } });
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(e.Message + "\n--- host ---\n" + host.Output, e);
        }
        finally
        {
            File.Delete(killFile);
        }
    }

    private static TransactWriteItemsRequest Transfer(string id, int from, int to, int amount) => new()
    {
        TransactItems =
        [
            new TransactWriteItem
            {
                Update = new Update
                {
                    TableName = Table, Key = Key("acct" + from), UpdateExpression = "SET balance = balance - :a", ConditionExpression = "balance >= :a",
                    ExpressionAttributeValues = new() { [":a"] = Number(amount) },
                },
            },
            new TransactWriteItem
            {
                Update = new Update
                {
                    TableName = Table, Key = Key("acct" + to), UpdateExpression = "SET balance = balance + :a", ExpressionAttributeValues = new() { [":a"] = Number(amount) },
                },
            },
            new TransactWriteItem
            {
                Put = new Put
                {
                    TableName = Table, ConditionExpression = "attribute_not_exists(pk)",
                    Item = new() { ["pk"] = new AttributeValue(id), ["from"] = Number(from), ["to"] = Number(to), ["amount"] = Number(amount) },
                },
            },
        ],
    };

    private static async Task CreateTableAsync(AmazonDynamoDBClient client) => await client.CreateTableAsync(new CreateTableRequest
    {
        TableName = Table,
        BillingMode = BillingMode.PAY_PER_REQUEST,
        KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
        AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
    });

    /// <summary>Runs the same transactions against a host and records every answer (items, errors, cancellation reasons).</summary>
    private static async Task<List<string>> RunScenarioAsync(AmazonDynamoDBClient client)
    {
        var log = new List<string>();
        async Task Record(string step, Func<Task<string>> action)
        {
            try
            {
                log.Add(step + ": " + await action());
            }
            catch (TransactionCanceledException e)
            {
                log.Add(step + ": canceled " + e.Message + " " + string.Join(" | ", e.CancellationReasons.Select(r => r.Code + "/" + r.Message + "/" + Show(r.Item))));
            }
            catch (AmazonDynamoDBException e)
            {
                log.Add(step + ": " + e.ErrorCode + " " + e.Message);
            }
        }

        await CreateTableAsync(client);
        var keys = Enumerable.Range(0, 8).Select(i => "a" + i).ToArray();
        await Record("put all", async () =>
        {
            await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
            {
                TransactItems = [.. keys.Select((k, i) => new TransactWriteItem { Put = new Put { TableName = Table, Item = new() { ["pk"] = new AttributeValue(k), ["v"] = Number(i) } } })],
            });
            return "ok";
        });
        await Record("get all", async () => Show(await client.TransactGetItemsAsync(new TransactGetItemsRequest
        {
            TransactItems = [.. keys.Append("missing").Select(k => new TransactGetItem { Get = new Get { TableName = Table, Key = Key(k), ProjectionExpression = "v" } })],
        })));
        await Record("conditions fail", async () =>
        {
            await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
            {
                TransactItems =
                [
                    new TransactWriteItem { Update = new Update { TableName = Table, Key = Key("a0"), UpdateExpression = "SET v = v + :one", ConditionExpression = "attribute_exists(pk)", ExpressionAttributeValues = new() { [":one"] = Number(1) } } },
                    new TransactWriteItem { ConditionCheck = new ConditionCheck { TableName = Table, Key = Key("a3"), ConditionExpression = "v = :x", ExpressionAttributeValues = new() { [":x"] = Number(99) }, ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD } },
                    new TransactWriteItem { Delete = new Delete { TableName = Table, Key = Key("a5") } },
                    new TransactWriteItem { Put = new Put { TableName = Table, Item = new() { ["pk"] = new AttributeValue("a6"), ["v"] = Number(0) }, ConditionExpression = "attribute_not_exists(pk)" } },
                    new TransactWriteItem { Put = new Put { TableName = Table, Item = new() { ["pk"] = new AttributeValue("a9"), ["v"] = Number(9) } } },
                ],
            });
            return "ok";
        });
        await Record("invalid update", async () =>
        {
            await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
            {
                TransactItems =
                [
                    new TransactWriteItem { Update = new Update { TableName = Table, Key = Key("a1"), UpdateExpression = "SET v = v + :s", ExpressionAttributeValues = new() { [":s"] = new AttributeValue("text") } } },
                    new TransactWriteItem { Delete = new Delete { TableName = Table, Key = Key("a2") } },
                ],
            });
            return "ok";
        });
        await Record("same item twice", async () =>
        {
            await client.TransactWriteItemsAsync(new TransactWriteItemsRequest
            {
                TransactItems = [new TransactWriteItem { Delete = new Delete { TableName = Table, Key = Key("a1") } }, new TransactWriteItem { Delete = new Delete { TableName = Table, Key = Key("a1") } }],
            });
            return "ok";
        });
        var increment = new TransactWriteItemsRequest
        {
            ClientRequestToken = "token-1",
            TransactItems = [.. new[] { "a1", "a2", "a7" }.Select(k => new TransactWriteItem { Update = new Update { TableName = Table, Key = Key(k), UpdateExpression = "SET v = v + :one", ExpressionAttributeValues = new() { [":one"] = Number(1) } } })],
        };
        await Record("token", async () => (await client.TransactWriteItemsAsync(increment)).HttpStatusCode.ToString());
        await Record("token again", async () => (await client.TransactWriteItemsAsync(increment)).HttpStatusCode.ToString());
        increment.TransactItems.RemoveAt(0);
        await Record("token mismatch", async () => (await client.TransactWriteItemsAsync(increment)).HttpStatusCode.ToString());
        await Record("partiql write", async () =>
        {
            await client.ExecuteTransactionAsync(new ExecuteTransactionRequest
            {
                TransactStatements =
                [
                    new ParameterizedStatement { Statement = $"UPDATE \"{Table}\" SET w = 'x' WHERE pk = 'a3'" },
                    new ParameterizedStatement { Statement = $"UPDATE \"{Table}\" SET w = 'y' WHERE pk = 'a4'" },
                    new ParameterizedStatement { Statement = $"INSERT INTO \"{Table}\" VALUE {{'pk': 'a8', 'v': 8}}" },
                ],
            });
            return "ok";
        });
        await Record("partiql write fails", async () =>
        {
            await client.ExecuteTransactionAsync(new ExecuteTransactionRequest
            {
                TransactStatements =
                [
                    new ParameterizedStatement { Statement = $"UPDATE \"{Table}\" SET w = 'z' WHERE pk = 'a0'" },
                    new ParameterizedStatement { Statement = $"INSERT INTO \"{Table}\" VALUE {{'pk': 'a8', 'v': 8}}" },
                ],
            });
            return "ok";
        });
        await Record("partiql read", async () =>
        {
            var response = await client.ExecuteTransactionAsync(new ExecuteTransactionRequest
            {
                TransactStatements = [.. new[] { "a0", "a3", "a4", "a8" }.Select(k => new ParameterizedStatement { Statement = $"SELECT * FROM \"{Table}\" WHERE pk = '{k}'" })],
            });
            return string.Join(" | ", response.Responses.Select(r => Show(r.Item)));
        });
        await Record("final", async () =>
        {
            var page = await client.ScanAsync(new ScanRequest { TableName = Table, ConsistentRead = true });
            return string.Join(" | ", page.Items.Select(Show).Order(StringComparer.Ordinal));
        });
        return log;
    }

    private static string Show(TransactGetItemsResponse response) => string.Join(" | ", response.Responses.Select(r => Show(r.Item)));

    private static string Show(Dictionary<string, AttributeValue>? item) =>
        item is not { Count: > 0 } ? "-" : string.Join(",", item.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + (p.Value.S ?? p.Value.N)));

    private static Dictionary<string, AttributeValue> Key(string pk) => new() { ["pk"] = new AttributeValue(pk) };

    private static AttributeValue Number(int n) => new() { N = n.ToString(CultureInfo.InvariantCulture) };

    private static int Int(AttributeValue value) => int.Parse(value.N, CultureInfo.InvariantCulture);
}
