using Microsoft.Azure.Functions.Worker;
using Serverless.Engine;

namespace Serverless.Functions.Timers;

/// <summary>
/// Takes a checkpoint on the schedule in the app setting <c>CheckpointSchedule</c> (every 5 minutes by default):
/// locally it bounds the replay after a restart; with blob storage it also uploads an item snapshot and the manifest,
/// which bounds a fresh instance's recovery, and lets old log segments be deleted.
/// </summary>
public sealed class Checkpoint(EngineRegions regions)
{
    [Function(nameof(Checkpoint))]
    public async Task RunAsync([TimerTrigger("%CheckpointSchedule%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        foreach (var engine in regions.All)
        {
            foreach (var store in engine.Stores) await store.Database.CheckpointAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
