using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Serverless.Engine;

namespace Serverless.Functions.Timers;

/// <summary>
/// Trims Kinesis records older than their stream's retention period (24 hours to 365 days), by the engine's clock.
/// Scheduled by the app setting <c>KinesisRetentionSchedule</c> (every minute by default).
/// </summary>
public sealed class KinesisRetention(DynamoEngine engine, ILogger<KinesisRetention> logger)
{
    [Function(nameof(KinesisRetention))]
    public void Run([TimerTrigger("%KinesisRetentionSchedule%")] TimerInfo timer)
    {
        var trimmed = engine.Kinesis.TrimExpired(engine.Time.GetUtcNow());
        if (trimmed > 0) logger.LogInformation("Kinesis retention trimmed {Count} records", trimmed);
    }
}
