using System.Globalization;
using Serverless.Engine;
using Serverless.Engine.Partitioning;

namespace Serverless.ScaleOut;

/// <summary>The store settings every partition grain of this silo opens its partition with (the host's, P &gt; 1).</summary>
public sealed class PartitionStoreSettings(EngineOptions options, TimeProvider time)
{
    public EngineOptions Options { get; } = options;

    public TimeProvider Time { get; } = time;
}

/// <summary>
/// Owns partition <c>k</c> while active: activation opens <see cref="PartitionedStore.OptionsOf"/> (the store takes
/// the partition's blob lease before serving), deactivation checkpoints and closes it, releasing the lease. Placed
/// by activation count, so the P partitions spread over the silos (docs/scale-out.md, "Placement and balance").
/// </summary>
[Orleans.Placement.ActivationCountBasedPlacement]
public sealed class PartitionGrain(PartitionStoreSettings settings) : Grain, IPartitionGrain
{
    private DynamoEngine? _engine;

    /// <summary>The grain key of partition <paramref name="k"/> in <paramref name="region"/>.</summary>
    public static string KeyOf(string region, int k) => region + "/" + k.ToString(CultureInfo.InvariantCulture);

    /// <summary>The partition number in a grain key <c>"&lt;region&gt;/&lt;k&gt;"</c>.</summary>
    public static int PartitionOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var slash = key.LastIndexOf('/');
        if (slash < 0 || !int.TryParse(key.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var k) || k >= PartitionMap.MaxPartitions)
            throw new ArgumentException($"'{key}' is not a partition grain key (<region>/<k>).", nameof(key));
        return k;
    }

    // Grain code resumes on the activation's scheduler (Orleans requires it: ORLEANS0014).
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var k = PartitionOf(this.GetPrimaryKeyString());
        if (k >= settings.Options.Partitions) throw new ArgumentException($"Partition {k} does not exist: the store has {settings.Options.Partitions}.");
        _engine = await DynamoEngine.OpenAsync(PartitionedStore.OptionsOf(settings.Options, k), settings.Time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_engine is { } engine)
        {
            _engine = null;
            await engine.DisposeAsync().AsTask().ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        }
    }

    public async Task<PartitionReply> ExecuteAsync(PartitionMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var engine = _engine ?? throw new InvalidOperationException("The partition is not open.");
        return PartitionReply.From(await PartitionCall.ExecuteAsync(engine, message.ToRequest()).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext));
    }
}
