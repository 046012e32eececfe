using Microsoft.Azure.Functions.Worker;
using Serverless.Replicator.Triggers;

namespace Serverless.Functions.Timers;

/// <summary>
/// Delivers table streams to the trigger queues configured under <c>Triggers</c>. Scheduled by the app setting
/// <c>StreamFanOutSchedule</c> (every second by default); each run catches up and then keeps following the streams
/// for <c>StreamFanOut:TailMilliseconds</c>, so changes reach the queues within tens of milliseconds. Every region's
/// fan-out runs in the same invocation, side by side.
/// </summary>
public sealed class StreamFanOutTimer(StreamFanOuts fanOut)
{
    [Function("StreamFanOut")]
    public Task RunAsync([TimerTrigger("%StreamFanOutSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        fanOut.RunAsync(cancellationToken);
}
