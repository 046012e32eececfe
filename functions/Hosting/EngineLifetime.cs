using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Engine;

namespace Serverless.Functions.Hosting;

/// <summary>
/// Owns the process's engines (one, or one per region of <c>LocalHost__Regions</c>, see <see cref="EngineRegions"/>):
/// opens them when the host starts (so a bad configuration or an unreadable store fails start-up, not the first
/// request) and disposes them when the host stops gracefully.
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
    private readonly IOptionsFactory<EngineOptions> _factory;
    private readonly RegionSettings _regions;
    private readonly Serverless.Engine.Partitioning.IPartitionTransport? _remote;
    private Task<EngineRegions>? _opening;
    private EngineRegions? _engines;
    private bool _stopped;

    public EngineLifetime(IOptions<EngineOptions> options, IOptionsFactory<EngineOptions> factory, RegionSettings regions, IServiceProvider services, ILogger<EngineLifetime> logger)
    {
        _options = options;
        _factory = factory;
        _regions = regions;
        _time = services.GetService<TimeProvider>();
        // Registered only with ScaleOut:Enabled: the host is then a gateway, every partition is reached through the silo's grains.
        _remote = services.GetService<Serverless.Engine.Partitioning.IPartitionTransport>();
        _logger = logger;
    }

    /// <summary>The default region's open engine; opens the engines (blocking) if the host has not started them yet.</summary>
    public DynamoEngine Engine => Regions.Default;

    /// <summary>Every open engine, by region.</summary>
    public EngineRegions Regions => _engines ?? Open().GetAwaiter().GetResult();

    public async Task StartAsync(CancellationToken cancellationToken) => await Open().WaitAsync(cancellationToken).ConfigureAwait(false);

    public Task StopAsync(CancellationToken cancellationToken) => CloseAsync().AsTask();

    public ValueTask DisposeAsync() => CloseAsync();

    private Task<EngineRegions> Open()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            return _opening ??= OpenCoreAsync();
        }
    }

    private async Task<EngineRegions> OpenCoreAsync()
    {
        var engines = new List<DynamoEngine>();
        try
        {
            if (_regions.Names.Count == 0) engines.Add(await OpenOneAsync(_options.Value).ConfigureAwait(false));
            foreach (var region in _regions.Names) engines.Add(await OpenOneAsync(_regions.OptionsFor(_factory.Create(Options.DefaultName), region)).ConfigureAwait(false));
        }
        catch
        {
            foreach (var opened in engines) await opened.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _engines = new EngineRegions(engines, routed: _regions.Names.Count > 0);
        return _engines;
    }

    private async Task<DynamoEngine> OpenOneAsync(EngineOptions options)
    {
        options.Blob.Log ??= m => _logger.LogWarning("{Message}", m);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var engine = _remote is null ? await DynamoEngine.OpenAsync(options, _time).ConfigureAwait(false) : await OpenScaledOutAsync(options).ConfigureAwait(false);
        engine.Handler.OnInternalError = e => _logger.LogError(e, "Internal error while handling a request.");
        engine.Exports.Log = m => _logger.LogInformation("{Message}", m);
        _logger.LogInformation("Engine open ({Region}): {Storage} ({Milliseconds:F0} ms).", options.DefaultRegion,
            options.InMemory ? "in memory" : Path.GetFullPath(options.DataDirectory), System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return engine;
    }

    private Task<DynamoEngine> OpenScaledOutAsync(EngineOptions options)
    {
        if (_regions.Names.Count > 0) throw new ArgumentException("ScaleOut:Enabled serves one region; it cannot be combined with LocalHost:Regions.");
        if (options.Partitions < 2) throw new ArgumentException("ScaleOut:Enabled needs a store with partitions (Engine:Partitions > 1, e.g. 8).");
        return Serverless.Engine.Partitioning.PartitionedStore.OpenGatewayAsync(options, _remote!, _time ?? TimeProvider.System);
    }

    private async ValueTask CloseAsync()
    {
        Task<EngineRegions>? opening;
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
            opening = _opening;
        }

        if (opening is null) return;
        EngineRegions engines;
        try
        {
            engines = await opening.ConfigureAwait(false);
        }
        catch
        {
            return; // it never opened; start-up already reported why
        }

        _engines = null;
        foreach (var engine in engines.All) await engine.DisposeAsync().ConfigureAwait(false);
        _logger.LogInformation("Engine closed.");
    }
}
