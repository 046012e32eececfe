using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Console;

/// <summary>
/// The host the console tests drive: a data directory (streams and point-in-time recovery need the change log),
/// any credentials accepted, and one trigger mapping on <see cref="TriggeredTable"/> for the Triggers page.
/// </summary>
public sealed class ConsoleHostFixture : IAsyncLifetime
{
    public const string TriggeredTable = "ConsoleTriggered";

    private HostProcess? _host;

    public HostProcess Host => _host ?? throw new InvalidOperationException("The console host has not started.");

    public async Task InitializeAsync() => _host = await HostProcess.StartAsync(new HostProcessOptions
    {
        Environment = new Dictionary<string, string>
        {
            ["Triggers__0__Table"] = TriggeredTable,
            ["Triggers__0__Queue"] = "audit-log",
        },
    });

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}
