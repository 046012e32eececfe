using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;

namespace Serverless.IntegrationTests.Transactions;

/// <summary>
/// Conflicts with an in-flight transaction. The host delays every group commit by 1.5 s, so a committed
/// transaction holds its items long enough for other requests to run into it deterministically.
/// </summary>
public sealed class TransactionIsolationTests
{
    [Fact]
    public async Task InFlightTransaction_MakesPlainWritesTransactionsAndReadsOfItsItemsConflict_WithoutWaiting()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["Engine__ChangeLog__GroupCommitDelay"] = "00:00:03" },
        });
        using var client = host.CreateClient(c => c.MaxErrorRetry = 0);
        var t = await CreateAsync(client, "txiso");
        await client.PutItemAsync(t, new() { ["pk"] = S("held"), ["n"] = N("1") });
        await client.PutItemAsync(t, new() { ["pk"] = S("free"), ["n"] = N("1") });

        var token = Guid.NewGuid().ToString();
        var request = new TransactWriteItemsRequest
        {
            ClientRequestToken = token,
            TransactItems = [new() { Update = new Update { TableName = t, Key = Key("held"), UpdateExpression = "SET n = :two", ExpressionAttributeValues = new() { [":two"] = N("2") } } }],
        };
        var inFlight = client.TransactWriteItemsAsync(request);

        // Wait until the transaction has applied (reads see it) and now waits for its delayed commit.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while ((await client.GetItemAsync(t, Key("held"))).Item["n"].N != "2")
        {
            Assert.True(DateTime.UtcNow < deadline, "the transaction did not apply");
            await Task.Delay(10);
        }

        var started = DateTime.UtcNow;
        var plain = await Assert.ThrowsAsync<TransactionConflictException>(() => client.PutItemAsync(t, new() { ["pk"] = S("held"), ["n"] = N("9") }));
        Assert.Equal("Transaction is ongoing for the item", plain.Message);

        var competing = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactWriteItemsAsync(new TransactWriteItemsRequest
        {
            TransactItems =
            [
                new() { Update = new Update { TableName = t, Key = Key("free"), UpdateExpression = "SET n = :v", ExpressionAttributeValues = new() { [":v"] = N("5") } } },
                new() { ConditionCheck = new ConditionCheck { TableName = t, Key = Key("held"), ConditionExpression = "attribute_exists(pk)" } },
            ],
        }));
        Assert.Equal(["None", "TransactionConflict"], competing.CancellationReasons.Select(r => r.Code));
        Assert.Equal("Transaction is ongoing for the item", competing.CancellationReasons[1].Message);

        var read = await Assert.ThrowsAsync<TransactionCanceledException>(() => client.TransactGetItemsAsync(new TransactGetItemsRequest
        {
            TransactItems = [new() { Get = new Get { TableName = t, Key = Key("free") } }, new() { Get = new Get { TableName = t, Key = Key("held") } }],
        }));
        Assert.Equal("Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]", read.Message);

        var retry = await Assert.ThrowsAsync<TransactionInProgressException>(() => client.TransactWriteItemsAsync(request));
        Assert.Equal("TransactionInProgressException", retry.ErrorCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromMilliseconds(2500), "conflicts must fail fast, not wait for the commit");
        Assert.False(inFlight.IsCompleted);

        await inFlight;
        Assert.Equal("2", (await client.GetItemAsync(t, Key("held"))).Item["n"].N);
        Assert.Equal("1", (await client.GetItemAsync(t, Key("free"))).Item["n"].N);
        await client.PutItemAsync(t, new() { ["pk"] = S("held"), ["n"] = N("3") }); // released once durable
        await client.TransactWriteItemsAsync(request); // the token now replays without applying again
        Assert.Equal("3", (await client.GetItemAsync(t, Key("held"))).Item["n"].N);
    }
}
