using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Console;

/// <summary>
/// The host the console tests drive: a data directory (streams and point-in-time recovery need the change log),
/// any credentials accepted, and trigger mappings on <see cref="TriggeredTable"/> (delivers at once) and <see cref="BatchedTable"/>
/// (waits for a batch, so it lags) for the Triggers page.
/// </summary>
public sealed class ConsoleHostFixture : IAsyncLifetime
{
    public const string TriggeredTable = "ConsoleTriggered";
    public const string BatchedTable = "ConsoleBatched";

    private HostProcess? _host;

    public HostProcess Host => _host ?? throw new InvalidOperationException("The console host has not started.");

    public async Task InitializeAsync() => _host = await HostProcess.StartAsync(new HostProcessOptions
    {
        Environment = new Dictionary<string, string>
        {
            ["Triggers__0__Table"] = TriggeredTable,
            ["Triggers__0__Queue"] = "audit-log",

            // Holds its records back for five minutes unless 10000 are waiting: it lags, visibly.
            ["Triggers__1__Table"] = BatchedTable,
            ["Triggers__1__Queue"] = "audit-log",
            ["Triggers__1__BatchSize"] = "10000",
            ["Triggers__1__BatchingWindowSeconds"] = "300",
        },
    });

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}
