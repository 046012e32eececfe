using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Serverless.Engine;
using Serverless.Engine.Protocol;
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
        var settings = new System.Runtime.CompilerServices.StrongBox<IConfiguration?>();
        StartupTrace.Mark("main");
        try
        {
            // The build indexed the functions (the worker SDK's generated metadata); scan for attributes only without it.
            var generated = GeneratedFunctionCatalog.TryRead(FunctionsAssembly);
            if (generated is not null) GeneratedFunctionCatalog.AssertMatchesReflection(FunctionsAssembly, generated);
            // A Native AOT build keeps only the function classes and the generated provider (Functions/RootedFunctions.xml): no scan.
            if (generated is null && !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
                throw new InvalidOperationException("The functions assembly's generated function metadata was not found; a Native AOT build needs it.");
            functions = generated ?? FunctionCatalog.Discover(FunctionsAssembly);
            BoundHttpFunctions.AssertCovers(functions);
            StartupTrace.Mark("functions discovered");
            (app, router) = Build(commandLine, functions, settings);
            StartupTrace.Mark("host built");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Bad settings, an unreadable certificate, a locked data directory: one clear line (StartupFailure).
            await StartupFailure.WriteAsync(e, "", settings.Value);
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
                await StartupFailure.WriteAsync(e, "could not start: ", settings.Value);
                return 1;
            }

            StartupFailure.Started();
            StartupTrace.Mark("host started (engine open, listening)");
            PrintBanner(app, router, functions);
            await app.WaitForShutdownAsync();
        }

        // Reached only after the host stopped gracefully, which disposed (flushed and checkpointed) the engine.
        await Console.Out.WriteLineAsync("Stopped.");
        return 0;
    }

    private static (WebApplication App, HttpFunctionRouter Router) Build(
        IReadOnlyDictionary<string, string?> commandLine, IReadOnlyList<FunctionDescriptor> functions, System.Runtime.CompilerServices.StrongBox<IConfiguration?> settings)
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
        settings.Value = configuration;

        // Global tables: a host serving several regions receives on one queue; one serving a region, on that region's.
        configuration["GlobalTables:Queue"] ??= configuration[Serverless.Functions.Hosting.RegionSettings.Setting] is { Length: > 0 }
            ? "ddb-replication" : $"ddb-replication-{configuration["Engine:DefaultRegion"] ?? "us-east-1"}";
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
        StartupFailure.HideHostingLogUntilStarted(builder.Logging);

        // Run each request on the socket thread that read it: the engine never blocks on I/O (a write awaits only
        // the change log's commit), so a hop through the thread pool would add latency and CPU and nothing else.
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = listen.InlineScheduling);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null; // the engine enforces Engine:MaxRequestBytes itself
            // Kestrel would answer a long URL 414 itself; DynamoDB answers 400 (HttpEdge.MaxUrlLength, checked below).
            kestrel.Limits.MaxRequestLineSize = 1024 * 1024;
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
        builder.Services.AddSingleton(sp => new TimerFunctionRunner(timers, sp, sp.GetRequiredService<ILogger<TimerFunctionRunner>>(), sp.GetService<TimeProvider>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TimerFunctionRunner>());
        var hostJson = HostJsonFile.Read();
        var queueSettings = QueueHostSettings.From(hostJson);
        var queueFunctions = QueueFunctionRunner.Resolve(functions, configuration, queueSettings);
        var lease = TimeSpan.FromSeconds(configuration.GetValue("LocalHost:QueueLeaseSeconds", 600));
        builder.Services.AddSingleton(sp => new QueueFunctionRunner(queueFunctions, queueSettings, lease, sp, sp.GetRequiredService<ILogger<QueueFunctionRunner>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<QueueFunctionRunner>());
        // MVC is not trim-safe; a Native AOT build refuses functions returning action results (HttpFunctionRouter), so it never needs it.
        if (System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported && functions.Any(HttpFunctionInvoker.ReturnsActionResult)) builder.Services.AddMvcCore();

        // Invokers are compiled once, here, against the final service registrations.
        var root = new RootServices();
        var router = HttpFunctionRouter.Create(functions, ReadRoutePrefix(hostJson), builder.Services, root);
        StartupTrace.Mark("http invokers compiled");

        var app = builder.Build();
        root.Provider = app.Services;
        var runner = app.Services.GetRequiredService<TimerFunctionRunner>();
        // In Verify mode every /admin route needs a signature and its action allowed (AdminAuthentication).
        app.Run(StartupTrace.Wrap(context =>
        {
            if (HttpEdge.UrlTooLong((context.Request.Path.Value?.Length ?? 0) + (context.Request.QueryString.Value?.Length ?? 0)))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return Task.CompletedTask;
            }

            if (IsAdminRun(context, out var name)) return AdminAuthentication.RunAsync(context, AdminAuthentication.InvokeFunction, () => RunOnDemandAsync(context, runner, name));
            if (HttpMethods.IsGet(context.Request.Method) && context.Request.Path == "/admin/metrics")
                return AdminAuthentication.RunAsync(context, AdminAuthentication.GetMetrics, () => WriteMetricsAsync(context));
            if (HttpMethods.IsGet(context.Request.Method) && context.Request.Path == "/admin/triggers")
                return AdminAuthentication.RunAsync(context, AdminAuthentication.GetTriggers, () => WriteTriggersAsync(context));
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
        }));
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
        ["AutoScalingSchedule"] = "0 * * * * *",
        ["KinesisDeliverySchedule"] = "*/1 * * * * *",
        ["KinesisRetentionSchedule"] = "0 * * * * *",
        ["AuditLogQueue"] = "audit-log",
        ["GlobalTablesSchedule"] = "*/1 * * * * *",
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
        var replicator = context.RequestServices.GetService<Serverless.Replicator.GlobalTables.GlobalTableReplicator>();
        if (replicator == null)
        {
            engine.Database.WriteMetrics(writer);
            return;
        }

        GlobalTablesMetrics.Write(writer, context.RequestServices.GetRequiredService<EngineRegions>(), replicator);
    }

    /// <summary><c>GET /admin/triggers</c>: each region's fan-out, and each trigger mapping's region, position and lag (the console's Triggers page).</summary>
    private static async Task WriteTriggersAsync(HttpContext context)
    {
        var fanOut = context.RequestServices.GetRequiredService<Serverless.Replicator.Triggers.StreamFanOuts>();
        context.Response.ContentType = "application/json";
        await using var writer = new System.Text.Json.Utf8JsonWriter(context.Response.BodyWriter);
        fanOut.WriteStatus(writer);
    }

    /// <summary>Runs a timer function and answers 202 once it has finished (Azure answers at once and runs it in the background).</summary>
    private static async Task RunOnDemandAsync(HttpContext context, TimerFunctionRunner runner, string name)
    {
        var ran = await runner.RunNowAsync(name, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = ran ? StatusCodes.Status202Accepted : StatusCodes.Status404NotFound;
    }

    /// <summary>The <c>extensions.http.routePrefix</c> of the functions app's host.json; Functions' default is "api".</summary>
    private static string ReadRoutePrefix(JsonElement hostJson) =>
        HostJsonFile.Extension(hostJson, "http") is { } http
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

        var regions = app.Services.GetRequiredService<EngineRegions>();
        if (regions.Routed) output.WriteLine($"  regions: {string.Join(", ", regions.Names)} (one engine and store each, chosen by the request's SigV4 region)");
        var database = regions.Default.Database;
        var blob = database.BlobLocation;
        output.WriteLine($"  storage: {(engine.InMemory ? "in memory" : Path.GetFullPath(engine.DataDirectory))}{(blob != null ? $" (a cache of blob container {blob})" : "")}");
        if (!engine.InMemory) output.WriteLine($"  store opened: {database.OpenTimings}");
        output.WriteLine(AuthBannerLine(engine.Auth));
        output.WriteLine($"  encryption at rest: {database.Encryption}");
        if (app.Services.GetService<HttpsCertificate>() is { } https)
        {
            var httpsUrl = addresses.FirstOrDefault(a => a.StartsWith("https:", StringComparison.Ordinal)) ?? "?";
            output.WriteLine($"  https: {httpsUrl}");
            output.WriteLine($"  https certificate: {https.Describe()}");
        }

        output.WriteLine($"Now listening on: {url}");
        output.WriteLine(TryLine(engine.Auth, engine.DefaultRegion, url));
        output.WriteLine("Press Ctrl+C to stop.");
        output.Flush();
    }

    /// <summary>
    /// The banner's example command, complete for a fresh shell: the AWS CLI needs credentials and a region even
    /// when any are accepted; in Verify mode it must be a configured key (its secret is never printed).
    /// </summary>
    internal static string TryLine(Serverless.Engine.Security.AuthOptions auth, string region, string url) =>
        auth.EffectiveMode == Serverless.Engine.Security.AuthMode.Verify
            ? $"Try (with a configured key and its secret): AWS_ACCESS_KEY_ID={(auth.Keys.Count > 0 ? auth.Keys[0].AccessKeyId : "<key id>")} AWS_SECRET_ACCESS_KEY=<its secret> AWS_DEFAULT_REGION={region} aws dynamodb list-tables --endpoint-url {url}"
            : $"Try: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION={region} aws dynamodb list-tables --endpoint-url {url}";

    /// <summary>The banner's line about authentication: what an unsigned or wrongly signed request gets.</summary>
    internal static string AuthBannerLine(Serverless.Engine.Security.AuthOptions auth) =>
        auth.EffectiveMode == Serverless.Engine.Security.AuthMode.Verify
            ? $"  auth: verifying SigV4 signatures ({auth.Keys.Count} {(auth.Keys.Count == 1 ? "key" : "keys")})"
            : auth.Keys.Count == 0
                ? "  auth: accepting any credentials (no keys configured), as DynamoDB Local does"
                : $"  auth: accepting any credentials (Auth__Mode=AcceptAny; {auth.Keys.Count} configured {(auth.Keys.Count == 1 ? "key is" : "keys are")} not checked)";
}
