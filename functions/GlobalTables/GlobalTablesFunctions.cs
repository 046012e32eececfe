using Microsoft.Azure.Functions.Worker;
using Serverless.Replicator.GlobalTables;

namespace Serverless.Functions.GlobalTables;

/// <summary>
/// Ships every replicated table's own writes from the change log to the other replicas' queues. Scheduled by the
/// app setting <c>GlobalTablesSchedule</c> (every second by default); each run catches up and then keeps following
/// the change logs for <c>GlobalTables:TailMilliseconds</c>, so writes leave within milliseconds.
/// </summary>
public sealed class GlobalTablesShip(GlobalTableReplicator replicator)
{
    [Function(nameof(GlobalTablesShip))]
    public Task RunAsync([TimerTrigger("%GlobalTablesSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        replicator.RunAsync(cancellationToken);
}

/// <summary>
/// Applies what other replicas send to this host's replication queue (app setting <c>GlobalTables:Queue</c>): item
/// writes (last writer wins), new replicas, settings and membership changes. A thrown exception retries the message.
/// </summary>
public sealed class GlobalTablesApply(GlobalTableReplicator replicator)
{
    [Function(nameof(GlobalTablesApply))]
    public Task RunAsync([QueueTrigger("%GlobalTables:Queue%")] string message, CancellationToken cancellationToken) =>
        replicator.HandleAsync(message, cancellationToken);
}
