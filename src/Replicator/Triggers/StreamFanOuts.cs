using System.Text.Json;
using Microsoft.Extensions.Logging;
using Serverless.Engine;
using Serverless.Replicator.Queues;

namespace Serverless.Replicator.Triggers;

/// <summary>
/// The stream fan-out of every region the host serves: one <see cref="StreamFanOut"/> per engine, each with the
/// mappings that name its region (a mapping without one reads the default region, the first engine's), its own
/// checkpoints in that engine's data directory and its own runs. A replicated write is in the receiving region's
/// change log, so it reaches that region's mappings like a local one. The timer function runs all regions at once.
/// </summary>
public sealed class StreamFanOuts
{
    private readonly StreamFanOut[] _regions;

    public StreamFanOuts(EngineRegions engines, IReadOnlyList<TriggerMapping> mappings, StreamFanOutOptions options, IMessageQueues queues, ILogger<StreamFanOut> logger)
    {
        ArgumentNullException.ThrowIfNull(engines);
        ArgumentNullException.ThrowIfNull(mappings);
        Validate(mappings, engines.Names);
        var defaultRegion = engines.Default.Options.DefaultRegion;
        _regions = [.. engines.All.Select(engine => new StreamFanOut(
            engine,
            [.. mappings.Where(m => m.RegionOr(defaultRegion) == engine.Options.DefaultRegion)],
            options,
            queues,
            logger))];
    }

    /// <summary>
    /// Checks every mapping's settings (an EventSourceArn fills in Table and Region), that its region is one of
    /// <paramref name="regions"/> (the host's, the first being the default), and that Names are distinct within a
    /// region, whose checkpoints share its data directory. Throws <see cref="ArgumentException"/> naming the setting.
    /// </summary>
    public static void Validate(IReadOnlyList<TriggerMapping> mappings, IReadOnlyList<string> regions)
    {
        ArgumentNullException.ThrowIfNull(mappings);
        ArgumentNullException.ThrowIfNull(regions);
        for (var i = 0; i < mappings.Count; i++)
        {
            mappings[i].Validate(i);
            var region = mappings[i].RegionOr(regions[0]);
            if (!regions.Contains(region, StringComparer.Ordinal))
                throw new ArgumentException($"Triggers:{i}:Region '{region}' is not a region this host serves ({string.Join(", ", regions)}).");
        }

        foreach (var region in mappings.GroupBy(m => m.RegionOr(regions[0]), StringComparer.Ordinal))
        {
            var names = region.Select(m => m.CheckpointName).ToList();
            if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
                throw new ArgumentException($"Two trigger mappings of region {region.Key} have the same Name (default {{Table}}-{{Queue}}); give them distinct Names.");
        }
    }

    /// <summary>Each region's fan-out, in the order of the host's regions.</summary>
    public IReadOnlyList<StreamFanOut> Regions => _regions;

    /// <summary>
    /// One run of every region's fan-out, side by side (each catches up, then follows its streams for
    /// <see cref="StreamFanOutOptions.TailMilliseconds"/>), so one region's backlog never delays another's changes.
    /// Returns how many records were sent.
    /// </summary>
    public async Task<long> RunAsync(CancellationToken cancellationToken)
    {
        if (_regions.Length == 1) return await _regions[0].RunAsync(cancellationToken).ConfigureAwait(false);
        var sent = await Task.WhenAll(_regions.Select(r => r.RunAsync(cancellationToken))).ConfigureAwait(false);
        return sent.Sum();
    }

    /// <summary>
    /// GET /admin/triggers: <c>Regions</c> (each region's fan-out: its mappings and when it last passed over them)
    /// and <c>Mappings</c> (every mapping with its region, position and lag).
    /// </summary>
    public void WriteStatus(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteStartObject();
        w.WriteStartArray("Regions"u8);
        foreach (var region in _regions)
        {
            w.WriteStartObject();
            w.WriteString("Region"u8, region.Region);
            w.WriteNumber("Mappings"u8, region.Mappings.Count);
            if (region.LastPass is { } last) w.WriteString("LastPass"u8, last);
            else w.WriteNull("LastPass"u8);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("Mappings"u8);
        foreach (var region in _regions) region.WriteMappings(w);
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
