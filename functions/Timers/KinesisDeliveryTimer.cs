using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Serverless.Engine;

namespace Serverless.Functions.Timers;

/// <summary>
/// Streams table changes to their Kinesis Data Streams destinations (EnableKinesisStreamingDestination). Scheduled by
/// the app setting <c>KinesisDeliverySchedule</c> (every second by default); each run catches up from its durable
/// checkpoint and then keeps following the change log for 950 ms, so changes reach the streams within milliseconds.
/// </summary>
public sealed class KinesisDeliveryTimer(DynamoEngine engine, ILogger<KinesisDeliveryTimer> logger)
{
    [Function("KinesisDelivery")]
    public Task RunAsync([TimerTrigger("%KinesisDeliverySchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        engine.KinesisDelivery.RunAsync(TimeSpan.FromMilliseconds(950), logger, cancellationToken);
}
