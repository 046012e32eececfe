using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Engine;

namespace Serverless.Functions.Hosting;

/// <summary>
/// Owns the process's single <see cref="DynamoEngine"/>: opens it when the host starts (so a bad configuration or
/// an unreadable store fails start-up, not the first request) and disposes it when the host stops gracefully.
/// </summary>
/// <remarks>
/// The Functions worker may receive an invocation before every hosted service has started; the engine is then
/// opened on first use instead, exactly once.
/// </remarks>
internal sealed class EngineLifetime : IHostedService, IAsyncDisposable
{
    private readonly IOptions<EngineOptions> _options;
    private readonly TimeProvider? _time;
    private readonly ILogger<EngineLifetime> _logger;
    private readonly Lock _gate = new();
    private Task<DynamoEngine>? _opening;
    private DynamoEngine? _engine;
    private bool _stopped;

    public EngineLifetime(IOptions<EngineOptions> options, IServiceProvider services, ILogger<EngineLifetime> logger)
    {
        _options = options;
        _time = services.GetService<TimeProvider>();
        _logger = logger;
    }

    /// <summary>The open engine; opens it (blocking) if the host has not started it yet.</summary>
    public DynamoEngine Engine => _engine ?? Open().GetAwaiter().GetResult();

    public async Task StartAsync(CancellationToken cancellationToken) => await Open().WaitAsync(cancellationToken).ConfigureAwait(false);

    public Task StopAsync(CancellationToken cancellationToken) => CloseAsync().AsTask();

    public ValueTask DisposeAsync() => CloseAsync();

    private Task<DynamoEngine> Open()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            return _opening ??= OpenCoreAsync();
        }
    }

    private async Task<DynamoEngine> OpenCoreAsync()
    {
        var options = _options.Value;
        var engine = await DynamoEngine.OpenAsync(options, _time).ConfigureAwait(false);
        engine.Handler.OnInternalError = e => _logger.LogError(e, "Internal error while handling a request.");
        engine.Exports.Log = m => _logger.LogInformation("{Message}", m);
        _engine = engine;
        _logger.LogInformation("Engine open: {Storage}.", options.InMemory ? "in memory" : Path.GetFullPath(options.DataDirectory));
        return engine;
    }

    private async ValueTask CloseAsync()
    {
        Task<DynamoEngine>? opening;
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
            opening = _opening;
        }

        if (opening is null) return;
        DynamoEngine engine;
        try
        {
            engine = await opening.ConfigureAwait(false);
        }
        catch
        {
            return; // it never opened; start-up already reported why
        }

        _engine = null;
        await engine.DisposeAsync().ConfigureAwait(false);
        _logger.LogInformation("Engine closed.");
    }
}
