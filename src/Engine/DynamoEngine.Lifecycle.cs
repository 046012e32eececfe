using Serverless.Engine.Storage;

namespace Serverless.Engine;

public sealed partial class DynamoEngine
{
    /// <summary>The tables and items of this engine.</summary>
    public Database Database { get; private set; } = null!;

    /// <summary>Exports to and imports from the S3 stand-in, run in the background (src/Engine/Exports).</summary>
    public Exports.ExportService Exports { get; private set; } = null!;
    /// <summary>The DAX-style cache clusters (src/Engine/Cache) and their control plane's state.</summary>
    public Cache.DaxCaches Cache { get; private set; } = null!;

    /// <summary>Opens (or creates) the store described by <paramref name="options"/>, recovering it if it exists.</summary>
    public static async Task<DynamoEngine> OpenAsync(EngineOptions options, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (options.Partitions > 1) return await Partitioning.PartitionedStore.OpenAsync(options, time ?? TimeProvider.System, cancellationToken).ConfigureAwait(false);
        var engine = new DynamoEngine(options, time ?? TimeProvider.System);
        engine.Database = await Database.OpenAsync(options, engine.Time, cancellationToken).ConfigureAwait(false);
        engine.Exports = new Exports.ExportService(engine, options.Exports);
        await engine.Exports.StartAsync().ConfigureAwait(false);
        engine.Cache = Serverless.Engine.Cache.DaxCaches.Open(engine);
        return engine;
    }

    /// <summary>Current time as DynamoDB reports it: seconds since the Unix epoch, with a millisecond fraction.</summary>
    public double NowSeconds() => Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>Flushes the change log, takes a final checkpoint and releases the store.</summary>
    /// <remarks>Safe to call more than once: hosts may dispose both the lifetime owner and the service provider.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Exports != null) await Exports.DisposeAsync().ConfigureAwait(false);
        DisposeKinesis();
        if (Database != null) await Database.DisposeAsync().ConfigureAwait(false);
        await DisposePartitionsAsync().ConfigureAwait(false);
    }
}
