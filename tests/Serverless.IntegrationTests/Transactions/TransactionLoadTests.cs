using System.Collections.Concurrent;
using System.Diagnostics;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Transactions;

/// <summary>
/// Bank transfers between 20 accounts from several client threads: money is conserved, no balance goes negative,
/// nothing deadlocks; and after a SIGKILL under that load, recovery keeps every acknowledged transfer.
/// </summary>
public sealed class TransactionLoadTests
{
    private const int Accounts = 20;
    private const int Initial = 100;

    [Fact]
    public async Task RandomTransfers_FromSeveralThreads_ConserveMoney_AndNeverDeadlock()
    {
        await using var host = await HostProcess.StartAsync();
        using var setup = host.CreateClient();
        var (accounts, receipts) = await SetUpAsync(setup);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stats = new Stats();
        var snapshots = 0;
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() => TransferLoopAsync(host, accounts, receipts, w, stats, null, stop.Token))).ToList();
        workers.Add(Task.Run(async () =>
        {
            // Consistent snapshots while transfers run: every one must add up.
            using var client = host.CreateClient(c => c.MaxErrorRetry = 0);
            while (!stop.IsCancellationRequested)
            {
                var balances = await TryReadAllAsync(client, accounts);
                if (balances == null) continue;
                Assert.Equal(Accounts * Initial, balances.Sum());
                Assert.All(balances, b => Assert.True(b >= 0));
                snapshots++;
            }
        }));
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(90)); // a deadlock would hang here

        var final = await ReadAllAsync(setup, accounts);
        Assert.Equal(Accounts * Initial, final.Sum());
        Assert.All(final, b => Assert.True(b >= 0));
        Assert.True(stats.Committed > 200, $"only {stats.Committed} transfers committed");
        Assert.True(stats.ConditionFailed > 0, "no transfer was refused by its balance condition");
        Assert.True(snapshots > 10, $"only {snapshots} consistent snapshots");
        var count = (await setup.DescribeTableAsync(receipts)).Table.ItemCount;
        Assert.Equal(stats.Committed, count);
    }

    [Fact]
    public async Task Sigkill_DuringTransfers_KeepsEveryAcknowledgedTransaction_AndTheInvariant()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["Engine__CheckpointLogBytes"] = "65536" }, // kill lands between checkpoints
        });
        using (var setup = host.CreateClient())
        {
            var (accounts, receipts) = await SetUpAsync(setup);
            var stats = new Stats();
            var acknowledged = new ConcurrentDictionary<string, TransactWriteItemsRequest>();
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() => TransferLoopAsync(host, accounts, receipts, w, stats, acknowledged, stop.Token))).ToArray();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (stats.Committed < 600 && DateTime.UtcNow < deadline) await Task.Delay(50);
            await host.KillAsync();
            stop.Cancel();
            await Task.WhenAll(workers);
            Assert.True(acknowledged.Count >= 100, $"too few transfers acknowledged before the kill: {acknowledged.Count}");

            await host.RestartAsync();
            using var client = host.CreateClient();
            var balances = await ReadAllAsync(client, accounts);
            Assert.Equal(Accounts * Initial, balances.Sum());
            Assert.All(balances, b => Assert.True(b >= 0));
            var missing = new List<string>();
            foreach (var id in acknowledged.Keys)
                if (!(await client.GetItemAsync(receipts, Key(id), true)).IsItemSet) missing.Add(id);
            Assert.Empty(missing);

            // Retrying acknowledged tokens after the restart changes nothing.
            foreach (var request in acknowledged.Values.Take(20)) await client.TransactWriteItemsAsync(request);
            Assert.Equal(balances, await ReadAllAsync(client, accounts));
        }
    }

    private static async Task<(string Accounts, string Receipts)> SetUpAsync(IAmazonDynamoDB client)
    {
        var accounts = await CreateAsync(client, "accounts");
        var receipts = await CreateAsync(client, "receipts");
        for (var i = 0; i < Accounts; i++) await client.PutItemAsync(accounts, new() { ["pk"] = S($"a{i}"), ["bal"] = N(Initial.ToString()) });
        return (accounts, receipts);
    }

    private static async Task TransferLoopAsync(HostProcess host, string accounts, string receipts, int worker, Stats stats,
        ConcurrentDictionary<string, TransactWriteItemsRequest>? acknowledged, CancellationToken stop)
    {
        using var client = host.CreateClient(c => c.MaxErrorRetry = 0);
        var random = new Random(worker);
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var from = random.Next(Accounts);
            var to = (from + 1 + random.Next(Accounts - 1)) % Accounts;
            var amount = random.Next(1, 60).ToString();
            var id = $"w{worker}-{i}";
            var request = new TransactWriteItemsRequest
            {
                ClientRequestToken = id,
                TransactItems =
                [
                    new() { Update = new Update { TableName = accounts, Key = Key($"a{from}"), UpdateExpression = "SET bal = bal - :v", ConditionExpression = "bal >= :v",
                        ExpressionAttributeValues = new() { [":v"] = N(amount) } } },
                    new() { Update = new Update { TableName = accounts, Key = Key($"a{to}"), UpdateExpression = "SET bal = bal + :v", ExpressionAttributeValues = new() { [":v"] = N(amount) } } },
                    new() { Put = new Put { TableName = receipts, Item = new() { ["pk"] = S(id), ["from"] = N(from.ToString()), ["to"] = N(to.ToString()), ["amount"] = N(amount) } } },
                ],
            };
            try
            {
                await client.TransactWriteItemsAsync(request, CancellationToken.None);
                Interlocked.Increment(ref stats.Committed);
                acknowledged?.TryAdd(id, request);
            }
            catch (TransactionCanceledException e)
            {
                if (e.CancellationReasons.Any(r => r.Code == "ConditionalCheckFailed")) Interlocked.Increment(ref stats.ConditionFailed);
                else Interlocked.Increment(ref stats.Conflicts);
            }
            catch (Exception e) when (e is HttpRequestException or AmazonServiceException or OperationCanceledException && (stop.IsCancellationRequested || host.HasExited))
            {
                return; // cut off by the kill: never acknowledged
            }
            catch (HttpRequestException) when (acknowledged != null)
            {
                return;
            }
        }
    }

    private static async Task<int[]?> TryReadAllAsync(IAmazonDynamoDB client, string accounts)
    {
        try
        {
            return await ReadAllAsync(client, accounts);
        }
        catch (TransactionCanceledException)
        {
            return null; // a transfer held one of the accounts; try again
        }
    }

    private static async Task<int[]> ReadAllAsync(IAmazonDynamoDB client, string accounts)
    {
        var response = await client.TransactGetItemsAsync(new TransactGetItemsRequest
        {
            TransactItems = Enumerable.Range(0, Accounts).Select(i => new TransactGetItem { Get = new Get { TableName = accounts, Key = Key($"a{i}") } }).ToList(),
        });
        return response.Responses.Select(r => int.Parse(r.Item["bal"].N)).ToArray();
    }

    private sealed class Stats
    {
        public int Committed;
        public int ConditionFailed;
        public int Conflicts;
    }
}
