using System.Reflection;
using Cronos;
using Microsoft.Azure.Functions.Worker;

namespace Serverless.Host.Functions;

/// <summary>
/// Runs the timer-triggered functions on their schedules, as the Functions host does: NCRONTAB with six fields
/// (seconds first) or a TimeSpan interval, with <c>%Setting%</c> resolved from configuration. A run never overlaps
/// the previous run of the same function. <see cref="RunNowAsync"/> runs one on demand (the admin endpoint).
/// The schedule follows the injected clock: a test that moves it forward (<c>POST /admin/clock/advance</c>) brings
/// the next occurrence forward, within <see cref="MaxWait"/>.
/// </summary>
internal sealed class TimerFunctionRunner : FunctionLoopRunner<TimerFunction>
{
    private readonly IServiceProvider _services;
    /// <summary>
    /// The longest single wait for an occurrence: the clock is read again after it, so a clock moved forward is seen
    /// (the adjustable test clock moves its time, not its timers).
    /// </summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(1);

    private readonly ILogger<TimerFunctionRunner> _logger;
    private readonly TimeProvider _time;

    public TimerFunctionRunner(IEnumerable<TimerFunction> functions, IServiceProvider services, ILogger<TimerFunctionRunner> logger, TimeProvider? time = null)
        : base(functions)
    {
        _services = services;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Reads the schedules of the timer functions among <paramref name="functions"/>; a bad schedule stops the host.</summary>
    public static List<TimerFunction> Resolve(IEnumerable<FunctionDescriptor> functions, IConfiguration configuration)
    {
        var result = new List<TimerFunction>();
        foreach (var f in functions)
        {
            if (f.Trigger is not TimerTriggerAttribute timer) continue;
            var text = ResolveSetting(timer.Schedule, configuration, f.Name, "schedule");
            result.Add(new TimerFunction(f, text, Schedule.Parse(f.Name, text)));
        }

        return result;
    }

    /// <summary>Runs a timer function now (waiting for a run in progress to finish first); false if there is none of that name.</summary>
    public async Task<bool> RunNowAsync(string name, CancellationToken cancellationToken)
    {
        var f = Functions.FirstOrDefault(x => string.Equals(x.Descriptor.Name, name, StringComparison.OrdinalIgnoreCase));
        if (f == null) return false;
        await InvokeAsync(f, isPastDue: false, cancellationToken).ConfigureAwait(false);
        return true;
    }

    protected override async Task LoopAsync(TimerFunction f, CancellationToken stopping)
    {
        var last = _time.GetUtcNow().UtcDateTime;
        while (!stopping.IsCancellationRequested)
        {
            var next = f.Schedule.Next(last);
            try
            {
                for (var delay = next - _time.GetUtcNow().UtcDateTime; delay > TimeSpan.Zero; delay = next - _time.GetUtcNow().UtcDateTime)
                    await Task.Delay(delay < MaxWait ? delay : MaxWait, _time, stopping).ConfigureAwait(false);
                await InvokeAsync(f, isPastDue: _time.GetUtcNow().UtcDateTime - next > TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // As in Azure, a failed run is logged and the schedule goes on.
                _logger.LogError(e, "Timer function {Function} failed", f.Descriptor.Name);
            }

            // As in Azure, missed occurrences (the clock moved forward, or a run outlasted the period) are run once,
            // past due, not once each.
            var now = _time.GetUtcNow().UtcDateTime;
            last = next > now ? next : now;
        }
    }

    private async Task InvokeAsync(TimerFunction f, bool isPastDue, CancellationToken cancellationToken)
    {
        await f.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FunctionInvocation.InvokeAsync(_services, f.Descriptor.Method, (p, _) => Bind(f, p, isPastDue, cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            f.Gate.Release();
        }
    }

    private object? Bind(TimerFunction f, ParameterInfo parameter, bool isPastDue, CancellationToken cancellationToken)
    {
        if (parameter.ParameterType == typeof(TimerInfo))
        {
            var utc = _time.GetUtcNow().UtcDateTime;
            var now = utc.ToLocalTime();
            return new TimerInfo
            {
                IsPastDue = isPastDue,
                ScheduleStatus = new ScheduleStatus { Last = now, Next = f.Schedule.Next(utc).ToLocalTime(), LastUpdated = now },
            };
        }

        if (parameter.ParameterType == typeof(CancellationToken)) return cancellationToken;
        throw new NotSupportedException(
            $"Function '{f.Descriptor.Name}': the local host cannot bind parameter '{parameter.Name}' of type {parameter.ParameterType}. Timer functions may take TimerInfo and CancellationToken.");
    }
}

/// <summary>A timer function with its resolved schedule; one run at a time.</summary>
internal sealed record TimerFunction(FunctionDescriptor Descriptor, string ScheduleText, Schedule Schedule)
{
    public SemaphoreSlim Gate { get; } = new(1, 1);
}

/// <summary>A timer schedule: NCRONTAB with seconds (six fields), or a fixed TimeSpan interval.</summary>
internal sealed class Schedule
{
    private readonly CronExpression? _cron;
    private readonly TimeSpan _interval;

    private Schedule(CronExpression? cron, TimeSpan interval)
    {
        _cron = cron;
        _interval = interval;
    }

    public static Schedule Parse(string function, string text)
    {
        if (TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var interval) && interval > TimeSpan.Zero)
            return new Schedule(null, interval);
        try
        {
            return new Schedule(CronExpression.Parse(text, CronFormat.IncludeSeconds), default);
        }
        catch (CronFormatException e)
        {
            throw new InvalidOperationException($"Function '{function}': '{text}' is not a six-field NCRONTAB expression or a TimeSpan: {e.Message}", e);
        }
    }

    /// <summary>The first occurrence after <paramref name="afterUtc"/>.</summary>
    public DateTime Next(DateTime afterUtc) =>
        _cron == null ? afterUtc + _interval : _cron.GetNextOccurrence(afterUtc, TimeZoneInfo.Utc) ?? DateTime.MaxValue;
}
