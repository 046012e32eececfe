using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using Serverless.Engine;

namespace Serverless.Functions.Timers;

/// <summary>
/// Application Auto Scaling's evaluation of target tracking policies, on the schedule in the app setting
/// <c>AutoScalingSchedule</c> (every minute by default, as CloudWatch evaluates the policies' alarms).
/// </summary>
public sealed class AutoScaling(DynamoEngine engine, ILogger<AutoScaling> logger)
{
    [Function(nameof(AutoScaling))]
    public async Task RunAsync([TimerTrigger("%AutoScalingSchedule%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        var activities = await engine.AutoScaler.EvaluateAsync(cancellationToken).ConfigureAwait(false);
        if (activities > 0) logger.LogInformation("Auto scaling started {Count} scaling activities", activities);
    }
}
