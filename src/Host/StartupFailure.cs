namespace Serverless.Host;

/// <summary>
/// What the local host prints when it cannot start: one line on stderr that says what failed and, where the fix
/// is a setting, which one. The stack trace follows only at debug level (<c>Logging__LogLevel__Default=Debug</c>),
/// and the generic host's own "Hosting failed to start" log entry, which carries the same exception, is held back
/// until the host has started (<see cref="HideHostingLogUntilStarted"/>).
/// </summary>
internal static class StartupFailure
{
    public const string DebugSetting = "Logging__LogLevel__Default=Debug";

    private const string HostingCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private static volatile bool _started;

    /// <summary>True when the configured default log level is Debug or Trace.</summary>
    public static bool IsDebug(IConfiguration configuration) =>
        configuration["Logging:LogLevel:Default"] is { } level
        && (level.Equals("Debug", StringComparison.OrdinalIgnoreCase) || level.Equals("Trace", StringComparison.OrdinalIgnoreCase));

    /// <summary>Drops the generic host's log entries while it starts; <see cref="Started"/> lets them through again.</summary>
    /// <remarks>
    /// The most specific category rule is the only one that applies, so this rule also keeps the host's
    /// <c>Microsoft</c>-wide minimum of Warning.
    /// </remarks>
    public static void HideHostingLogUntilStarted(ILoggingBuilder logging) =>
        logging.AddFilter(HostingCategory, level => _started && level >= LogLevel.Warning);

    public static void Started() => _started = true;

    /// <summary>Writes the failure: one line, then the exception itself only at debug level.</summary>
    public static async Task WriteAsync(Exception e, string prefix, IConfiguration? configuration)
    {
        await Console.Error.WriteLineAsync($"error: {prefix}{Describe(e, configuration)}");
        if (configuration is not null && IsDebug(configuration)) await Console.Error.WriteLineAsync(e.ToString());
    }

    /// <summary>The message of the failure's first cause, with what to do about an unreachable blob store.</summary>
    internal static string Describe(Exception e, IConfiguration? configuration)
    {
        var cause = e is AggregateException { InnerExceptions.Count: > 0 } a ? a.InnerExceptions[0] : e;
        var message = cause.Message.ReplaceLineEndings(" ");
        if (configuration is null || !IsStorageUnreachable(cause)) return message;
        var connection = configuration["Engine:Blob:ConnectionString"] is { Length: > 0 } explicitly ? ("Engine__Blob__ConnectionString", explicitly)
            : configuration["AzureWebJobsStorage"] is { Length: > 0 } storage ? ("AzureWebJobsStorage", storage)
            : default;
        if (connection == default) return message;
        var emulator = connection.Item2.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase)
            ? " (UseDevelopmentStorage=true means Azurite on 127.0.0.1:10000: start Azurite first)"
            : "";
        return $"{message}: the store is in blob storage because {connection.Item1} is set{emulator}; unset it to keep the store in the data directory";
    }

    private static bool IsStorageUnreachable(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is HttpRequestException or System.Net.Sockets.SocketException || x.GetType().FullName == "Azure.RequestFailedException") return true;
        }

        return false;
    }
}
