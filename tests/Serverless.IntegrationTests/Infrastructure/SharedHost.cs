namespace Serverless.IntegrationTests.Infrastructure;

/// <summary>
/// One host process shared by every test class in <see cref="SharedHostCollection"/>, on the data-directory backend.
/// Backends/BlobBackendScenarios.cs derives the same fixture on the blob backend.
/// </summary>
public class SharedHostFixture : IAsyncLifetime
{
    private HostProcess? _host;

    public HostProcess Host => _host ?? throw new InvalidOperationException("The shared host has not started.");

    public async Task InitializeAsync() => _host = await StartHostAsync();

    public virtual async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }

    protected virtual Task<HostProcess> StartHostAsync() => HostProcess.StartAsync();
}

/// <summary>
/// Test classes marked <c>[Collection(SharedHostCollection.Name)]</c> share one host (and run one after another).
/// Tests that kill or stop the host start their own with <see cref="HostProcess.StartAsync"/> instead.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SharedHostCollection : ICollectionFixture<SharedHostFixture>
{
    public const string Name = "Shared host";
}
