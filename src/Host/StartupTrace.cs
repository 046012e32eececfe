using System.Diagnostics;
using System.Runtime;

namespace Serverless.Host;

/// <summary>
/// Where start-up time goes (bench/startup, docs/startup.md): with <c>LocalHost__StartupTrace=true</c> in the
/// environment, the host writes one line to stderr at each phase and after its first answered request, with the
/// time since the process started, the methods the JIT has compiled and the time it spent on them. Off by
/// default, and then it costs nothing: the request path is wrapped only when it is on.
/// </summary>
internal static class StartupTrace
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("LocalHost__StartupTrace") is { } v
        && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase));

    private static readonly DateTime ProcessStart = Enabled ? Process.GetCurrentProcess().StartTime.ToUniversalTime() : default;
    private static double _last;
    private static int _first;

    /// <summary>Writes one phase's line: time since the process started, since the previous mark, and the JIT's work so far.</summary>
    public static void Mark(string phase)
    {
        if (!Enabled) return;
        var now = (DateTime.UtcNow - ProcessStart).TotalMilliseconds;
        var line = FormattableString.Invariant(
            $"startup-trace {phase}: at {now:F0} ms (+{now - _last:F0} ms); jit {JitInfo.GetCompiledMethodCount()} methods, {JitInfo.GetCompilationTime().TotalMilliseconds:F0} ms");
        _last = now;
        Console.Error.WriteLine(line);
    }

    /// <summary>The request pipeline, wrapped to mark the end of the first request when tracing is on.</summary>
    public static RequestDelegate Wrap(RequestDelegate next)
    {
        if (!Enabled) return next;
        return async context =>
        {
            await next(context).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _first, 1) == 0) Mark("first request answered");
        };
    }
}
