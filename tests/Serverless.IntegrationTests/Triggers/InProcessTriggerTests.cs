using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Triggers;

/// <summary>
/// Without <c>AzureWebJobsStorage</c> the local host delivers triggers through in-process queues, so
/// <c>dotnet run --project src/Host</c> runs triggers with no storage emulator.
/// </summary>
public sealed class InProcessTriggerTests
{
    [Fact]
    public async Task Trigger_WithoutStorageConnection_UsesInProcessQueues()
    {
        await using var host = await TriggerTests.StartTriggerHostAsync("inproc", [("BatchSize", "3")], env: null, storage: null);
        Assert.Contains("(InProcess;", host.Output);
        using var client = host.CreateClient();
        await TriggerTests.CreateStreamTableAsync(client, "Items");
        for (var i = 0; i < 20; i++) await TriggerTests.PutAsync(client, "Items", $"i{i:D2}", i);

        var records = await TriggerTests.WaitForAuditAsync(host, r => r.Count >= 20);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"i{i:D2}"), records.Select(TriggerTests.Key));
    }
}
