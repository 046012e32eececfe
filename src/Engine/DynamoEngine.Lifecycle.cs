using Serverless.Engine.Storage;

namespace Serverless.Engine;

public sealed partial class DynamoEngine
{
    /// <summary>The tables and items of this engine.</summary>
    public Database Database { get; private set; } = null!;

    /// <summary>Opens (or creates) the store described by <paramref name="options"/>, recovering it if it exists.</summary>
    public static async Task<DynamoEngine> OpenAsync(EngineOptions options, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var engine = new DynamoEngine(options, time ?? TimeProvider.System);
        engine.Database = await Database.OpenAsync(options, engine.Time, cancellationToken).ConfigureAwait(false);
        return engine;
    }

    /// <summary>Current time as DynamoDB reports it: seconds since the Unix epoch, with a millisecond fraction.</summary>
    public double NowSeconds() => Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>Flushes the change log, takes a final checkpoint and releases the store.</summary>
    /// <remarks>Safe to call more than once: hosts may dispose both the lifetime owner and the service provider.</remarks>
    public async ValueTask DisposeAsync()
    {
        DisposeKinesis();
        if (Database != null) await Database.DisposeAsync().ConfigureAwait(false);
    }
}
