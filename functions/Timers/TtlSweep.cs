using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Serverless.Engine;

namespace Serverless.Functions.Timers;

/// <summary>
/// Deletes expired items of every table with time to live enabled, as system deletes. Scheduled by the app setting
/// <c>TtlSweepSchedule</c> (NCRONTAB with seconds, or a TimeSpan); the default sweeps every 10 seconds, so items go
/// within a minute of expiring.
/// </summary>
public sealed class TtlSweep(EngineRegions regions, ILogger<TtlSweep> logger)
{
    [Function(nameof(TtlSweep))]
    public async Task RunAsync([TimerTrigger("%TtlSweepSchedule%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        foreach (var engine in regions.All)
        {
            long deleted = 0;
            foreach (var store in engine.Stores) deleted += await store.Database.SweepExpiredAsync(cancellationToken).ConfigureAwait(false);
            if (deleted > 0) logger.LogInformation("TTL sweep deleted {Count} expired items in {Region}", deleted, engine.Options.DefaultRegion);
        }
    }
}
