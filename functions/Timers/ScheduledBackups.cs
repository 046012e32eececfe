using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Serverless.Engine;

namespace Serverless.Functions.Timers;

/// <summary>
/// Scheduled backups with retention, on the schedule in the app setting <c>BackupSchedule</c> (daily at 03:00 by
/// default). <c>Backups__Tables</c> names the tables (comma-separated, or <c>*</c> for all; empty: none) and
/// <c>Backups__RetentionDays</c> how long their backups are kept (7 by default).
/// </summary>
public sealed class ScheduledBackups(EngineRegions regions, IConfiguration configuration, ILogger<ScheduledBackups> logger)
{
    [Function(nameof(ScheduledBackups))]
    public async Task RunAsync([TimerTrigger("%BackupSchedule%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        var tables = (configuration["Backups:Tables"] ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var retention = TimeSpan.FromDays(configuration.GetValue("Backups:RetentionDays", 7));
        foreach (var engine in regions.All)
        {
            var (taken, deleted) = await engine.Database.RunScheduledBackupsAsync(tables, retention).ConfigureAwait(false);
            if (taken + deleted > 0) logger.LogInformation("Scheduled backups: {Taken} taken, {Deleted} past retention deleted", taken, deleted);
        }
    }
}
