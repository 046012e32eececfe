using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Serverless.Engine;
using Serverless.Functions.Hosting;
using Serverless.Host.Functions;

namespace Serverless.Host;

/// <summary>
/// Builds and runs the local function host: the functions assembly's [Function] methods, composed through the
/// same <see cref="ServerlessServiceCollectionExtensions.AddServerlessEngine"/> as in Azure, served by a bare
/// Kestrel whose only middleware is <see cref="HttpFunctionRouter"/>.
/// </summary>
internal static class LocalFunctionHost
{
    /// <summary>The assembly whose functions this host runs.</summary>
    private static Assembly FunctionsAssembly => typeof(ServerlessServiceCollectionExtensions).Assembly;

    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string?> commandLine)
    {
        WebApplication app;
        HttpFunctionRouter router;
        IReadOnlyList<FunctionDescriptor> functions;
        try
        {
            functions = FunctionCatalog.Discover(FunctionsAssembly);
            (app, router) = Build(commandLine, functions);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException or JsonException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }

        await using (app)
        {
            try
            {
                await app.StartAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Bad settings, an unreachable or already-owned store: one clear line instead of a stack trace.
                var message = e is AggregateException { InnerExceptions.Count: > 0 } a ? a.InnerExceptions[0].Message : e.Message;
                await Console.Error.WriteLineAsync($"error: could not start: {message}");
                return 1;
            }

            PrintBanner(app, router, functions);
            await app.WaitForShutdownAsync();
        }

        // Reached only after the host stopped gracefully, which disposed (flushed and checkpointed) the engine.
        await Console.Out.WriteLineAsync("Stopped.");
        return 0;
    }

    private static (WebApplication App, HttpFunctionRouter Router) Build(IReadOnlyDictionary<string, string?> commandLine, IReadOnlyList<FunctionDescriptor> functions)
    {
        // The default sources below are replaced, but creating them with reload-on-change would leave a recursive
        // file watcher on the content root, the working directory, which holds ./data: every change-log and store
        // write would then wake the watcher thread (about a tenth of the server's CPU under a write load).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = Directory.GetCurrentDirectory(),
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });

        // Lowest to highest: local.settings.json Values, environment variables, command-line flags.
        var configuration = builder.Configuration;
        configuration.Sources.Clear();
        configuration.AddInMemoryCollection(AppSettingDefaults);
        configuration.AddInMemoryCollection(LocalSettingsFile.Read(Directory.GetCurrentDirectory()));
        configuration.AddEnvironmentVariables();
        configuration.AddInMemoryCollection(commandLine);

        var listen = configuration.GetSection(LocalHostOptions.Section).Get<LocalHostOptions>() ?? new LocalHostOptions();
        var endPoint = listen.ToEndPoint();
        var httpsEndPoint = listen.ToHttpsEndPoint();
        var https = httpsEndPoint is null ? null
            : HttpsCertificate.Resolve(listen, configuration[LocalHostOptions.DataDirectoryKey] is { Length: > 0 } dir ? dir : "data", httpsEndPoint.Address, TimeProvider.System);

        // Request logging would cost more than the request itself: only warnings and errors reach the console.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Warning);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);

        // Run each request on the socket thread that read it: the engine never blocks on I/O (a write awaits only
        // the change log's commit), so a hop through the thread pool would add latency and CPU and nothing else.
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = listen.InlineScheduling);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null; // the engine enforces Engine:MaxRequestBytes itself
            kestrel.Listen(endPoint);
            if (https is not null) kestrel.Listen(httpsEndPoint!, o => o.UseHttps(https.ToKestrelOptions()));
        });
        if (https is not null) builder.Services.AddSingleton(https);

        // Tests move time forward (iterator expiry, stream trimming, token expiry) through POST /admin/clock/advance/{seconds}.
        AdjustableClock? clock = null;
        if (configuration.GetValue<bool>("LocalHost:ClockControl"))
        {
            clock = new AdjustableClock();
            builder.Services.AddSingleton<TimeProvider>(clock);
        }

        builder.Services.AddServerlessEngine(configuration);

        // Registered after the engine: hosted services start in order (the engine opens first) and stop in reverse.
        var timers = TimerFunctionRunner.Resolve(functions, configuration);
        builder.Services.AddSingleton(sp => new TimerFunctionRunner(timers, sp, sp.GetRequiredService<ILogger<TimerFunctionRunner>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TimerFunctionRunner>());
        var queueSettings = QueueHostSettings.From(HostJsonFile.Read(FunctionsAssembly));
        var queueFunctions = QueueFunctionRunner.Resolve(functions, configuration, queueSettings);
        var lease = TimeSpan.FromSeconds(configuration.GetValue("LocalHost:QueueLeaseSeconds", 600));
        builder.Services.AddSingleton(sp => new QueueFunctionRunner(queueFunctions, queueSettings, lease, sp, sp.GetRequiredService<ILogger<QueueFunctionRunner>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<QueueFunctionRunner>());
        if (functions.Any(HttpFunctionInvoker.ReturnsActionResult)) builder.Services.AddMvcCore();

        // Invokers are compiled once, here, against the final service registrations.
        var root = new RootServices();
        var router = HttpFunctionRouter.Create(functions, ReadRoutePrefix(FunctionsAssembly), builder.Services, root);

        var app = builder.Build();
        root.Provider = app.Services;
        var runner = app.Services.GetRequiredService<TimerFunctionRunner>();
        // In Verify mode every /admin route needs a signature and its action allowed (AdminAuthentication).
        app.Run(context =>
        {
            if (IsAdminRun(context, out var name)) return AdminAuthentication.RunAsync(context, AdminAuthentication.InvokeFunction, () => RunOnDemandAsync(context, runner, name));
            if (HttpMethods.IsGet(context.Request.Method) && context.Request.Path == "/admin/metrics")
                return AdminAuthentication.RunAsync(context, AdminAuthentication.GetMetrics, () => WriteMetricsAsync(context));
            if (clock != null && HttpMethods.IsPost(context.Request.Method) && context.Request.Path.StartsWithSegments("/admin/clock/advance", out var by)
                && int.TryParse(by.Value?.Trim('/'), System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            {
                return AdminAuthentication.RunAsync(context, AdminAuthentication.AdvanceClock, () =>
                {
                    clock.Advance(TimeSpan.FromSeconds(seconds));
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return Task.CompletedTask;
                });
            }

            if (context.Request.Path.StartsWithSegments("/admin")) return AdminAuthentication.RunAsync(context, null, () => router.DispatchAsync(context));
            return router.DispatchAsync(context);
        });
        return (app, router);
    }

    /// <summary>
    /// App settings the functions need, with the values the local host uses when neither local.settings.json nor
    /// the environment sets them (a Functions app in Azure gets them from its app settings; see infra/bicep).
    /// </summary>
    private static readonly Dictionary<string, string?> AppSettingDefaults = new()
    {
        ["TtlSweepSchedule"] = "*/10 * * * * *",
        ["CheckpointSchedule"] = "0 */5 * * * *",
        ["BackupSchedule"] = "0 0 3 * * *",
        ["StreamFanOutSchedule"] = "*/1 * * * * *",
        ["KinesisDeliverySchedule"] = "*/1 * * * * *",
        ["KinesisRetentionSchedule"] = "0 * * * * *",
        ["AuditLogQueue"] = "audit-log",
    };

    /// <summary><c>POST /admin/functions/{name}</c>: the Functions host's admin call that runs a non-HTTP function now.</summary>
    private static bool IsAdminRun(HttpContext context, out string name)
    {
        name = "";
        if (!HttpMethods.IsPost(context.Request.Method) || !context.Request.Path.StartsWithSegments("/admin/functions", out var rest)) return false;
        name = rest.Value?.Trim('/') ?? "";
        return name.Length > 0;
    }

    /// <summary><c>GET /admin/metrics</c>: per-table consumed capacity and size (what CloudWatch shows for DynamoDB).</summary>
    private static async Task WriteMetricsAsync(HttpContext context)
    {
        var engine = context.RequestServices.GetRequiredService<DynamoEngine>();
        context.Response.ContentType = "application/json";
        await using var writer = new System.Text.Json.Utf8JsonWriter(context.Response.BodyWriter);
        engine.Database.WriteMetrics(writer);
    }

    /// <summary>Runs a timer function and answers 202 once it has finished (Azure answers at once and runs it in the background).</summary>
    private static async Task RunOnDemandAsync(HttpContext context, TimerFunctionRunner runner, string name)
    {
        var ran = await runner.RunNowAsync(name, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = ran ? StatusCodes.Status202Accepted : StatusCodes.Status404NotFound;
    }

    /// <summary>The <c>extensions.http.routePrefix</c> of the functions app's host.json; Functions' default is "api".</summary>
    private static string ReadRoutePrefix(Assembly functions) =>
        HostJsonFile.Extension(HostJsonFile.Read(functions), "http") is { } http
        && http.TryGetProperty("routePrefix", out var prefix)
        && prefix.ValueKind == JsonValueKind.String
            ? prefix.GetString()!
            : "api";

    private static void PrintBanner(WebApplication app, HttpFunctionRouter router, IReadOnlyList<FunctionDescriptor> functions)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var url = addresses.FirstOrDefault(a => a.StartsWith("http:", StringComparison.Ordinal)) ?? "?";
        var engine = app.Services.GetRequiredService<IOptions<EngineOptions>>().Value;
        var output = Console.Out;
        output.WriteLine("Serverless DynamoDB local function host");
        foreach (var route in router.Routes) output.WriteLine($"  function {route.Function.Name}: {route.Describe()}");
        var timers = app.Services.GetRequiredService<TimerFunctionRunner>().Functions;
        foreach (var timer in timers) output.WriteLine($"  function {timer.Descriptor.Name}: timer {timer.ScheduleText}");
        var queues = app.Services.GetRequiredService<QueueFunctionRunner>().Functions;
        var backend = queues.Count > 0 ? app.Services.GetRequiredService<Serverless.Replicator.Queues.IMessageQueues>().Backend : "";
        foreach (var queue in queues) output.WriteLine($"  function {queue.Descriptor.Name}: queue {queue.Queue} ({backend}; poison queue {queue.PoisonQueue} after {queue.MaxDequeueCount} attempts)");
        foreach (var function in functions)
        {
            if (router.Routes.All(r => r.Function != function) && timers.All(t => t.Descriptor != function) && queues.All(q => q.Descriptor != function))
                output.WriteLine($"  function {function.Name}: {function.Trigger.GetType().Name} is not run by this host yet");
        }

        var database = app.Services.GetRequiredService<DynamoEngine>().Database;
        var blob = database.BlobLocation;
        output.WriteLine($"  storage: {(engine.InMemory ? "in memory" : Path.GetFullPath(engine.DataDirectory))}{(blob != null ? $" (a cache of blob container {blob})" : "")}");
        output.WriteLine(AuthBannerLine(engine.Auth));
        output.WriteLine($"  encryption at rest: {database.Encryption}");
        if (app.Services.GetService<HttpsCertificate>() is { } https)
        {
            var httpsUrl = addresses.FirstOrDefault(a => a.StartsWith("https:", StringComparison.Ordinal)) ?? "?";
            output.WriteLine($"  https: {httpsUrl}");
            output.WriteLine($"  https certificate: {https.Describe()}");
        }

        output.WriteLine($"Now listening on: {url}");
        output.WriteLine($"Try: aws dynamodb list-tables --endpoint-url {url}");
        output.WriteLine("Press Ctrl+C to stop.");
        output.Flush();
    }

    /// <summary>The banner's line about authentication: what an unsigned or wrongly signed request gets.</summary>
    internal static string AuthBannerLine(Serverless.Engine.Security.AuthOptions auth) =>
        auth.EffectiveMode == Serverless.Engine.Security.AuthMode.Verify
            ? $"  auth: verifying SigV4 signatures ({auth.Keys.Count} {(auth.Keys.Count == 1 ? "key" : "keys")})"
            : auth.Keys.Count == 0
                ? "  auth: accepting any credentials (no keys configured), as DynamoDB Local does"
                : $"  auth: accepting any credentials (Auth__Mode=AcceptAny; {auth.Keys.Count} configured {(auth.Keys.Count == 1 ? "key is" : "keys are")} not checked)";
}
