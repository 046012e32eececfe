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

    /// <summary>
    /// The fan-out runs only on demand here (hourly schedule, no tailing), and the batching window is on the host's
    /// clock, which the test moves forward: both settings are deterministic, with no sleeping.
    /// </summary>
    [Fact]
    public async Task Trigger_LatestStartingPosition_AndBatchingWindow()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string>
            {
                ["StreamFanOutSchedule"] = "01:00:00",
                ["StreamFanOut__TailMilliseconds"] = "0",
                ["Triggers__0__Table"] = "Items",
                ["Triggers__0__Queue"] = "audit-log",
                ["Triggers__0__StartingPosition"] = "LATEST",
                ["Triggers__1__Table"] = "Windowed",
                ["Triggers__1__Queue"] = "audit-log",
                ["Triggers__1__BatchingWindowSeconds"] = "120",
                ["LocalHost__ClockControl"] = "true",
            },
        });
        using var client = host.CreateClient();
        using var http = host.CreateHttpClient();
        await TriggerTests.CreateStreamTableAsync(client, "Items");
        await TriggerTests.CreateStreamTableAsync(client, "Windowed");
        for (var i = 0; i < 3; i++) await TriggerTests.PutAsync(client, "Items", $"old{i}", i);
        for (var i = 0; i < 3; i++) await TriggerTests.PutAsync(client, "Windowed", $"w{i}", i);

        (await http.PostAsync("/admin/functions/StreamFanOut", null)).EnsureSuccessStatusCode(); // Items begins at LATEST; Windowed's window opens
        for (var i = 0; i < 3; i++) await TriggerTests.PutAsync(client, "Items", $"new{i}", i);
        (await http.PostAsync("/admin/functions/StreamFanOut", null)).EnsureSuccessStatusCode(); // Windowed still gathers

        var records = await TriggerTests.WaitForAuditAsync(host, r => r.Count >= 3);
        Assert.Equal(["new0", "new1", "new2"], records.Select(TriggerTests.Key));

        // 60 s on (plus the real time the test took, well under a minute): the window is still open.
        await host.AdvanceClockAsync(TimeSpan.FromSeconds(60));
        (await http.PostAsync("/admin/functions/StreamFanOut", null)).EnsureSuccessStatusCode();
        for (var i = 0; i < 3; i++) await TriggerTests.PutAsync(client, "Items", $"late{i}", i);
        (await http.PostAsync("/admin/functions/StreamFanOut", null)).EnsureSuccessStatusCode();
        records = await TriggerTests.WaitForAuditAsync(host, r => r.Count >= 6);
        Assert.Equal(["new0", "new1", "new2", "late0", "late1", "late2"], records.Select(TriggerTests.Key));

        // Past 120 s: the window closes and the gathered batch goes.
        await host.AdvanceClockAsync(TimeSpan.FromSeconds(61));
        (await http.PostAsync("/admin/functions/StreamFanOut", null)).EnsureSuccessStatusCode();
        records = await TriggerTests.WaitForAuditAsync(host, r => r.Count >= 9);
        Assert.Equal(["new0", "new1", "new2", "late0", "late1", "late2", "w0", "w1", "w2"], records.Select(TriggerTests.Key));
    }
}
