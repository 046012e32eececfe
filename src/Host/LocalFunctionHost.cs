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
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException or JsonException or IOException)
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
            catch (Exception e) when (e is OptionsValidationException or ArgumentException or IOException)
            {
                await Console.Error.WriteLineAsync($"error: could not start: {e.Message}");
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
        configuration.AddInMemoryCollection(LocalSettingsFile.Read(Directory.GetCurrentDirectory()));
        configuration.AddEnvironmentVariables();
        configuration.AddInMemoryCollection(commandLine);

        var listen = configuration.GetSection(LocalHostOptions.Section).Get<LocalHostOptions>() ?? new LocalHostOptions();
        var endPoint = listen.ToEndPoint();

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
        });

        builder.Services.AddServerlessEngine(configuration);
        if (functions.Any(HttpFunctionInvoker.ReturnsActionResult)) builder.Services.AddMvcCore();

        // Invokers are compiled once, here, against the final service registrations.
        var root = new RootServices();
        var router = HttpFunctionRouter.Create(functions, ReadRoutePrefix(FunctionsAssembly), builder.Services, root);

        var app = builder.Build();
        root.Provider = app.Services;
        app.Run(router.DispatchAsync);
        return (app, router);
    }

    /// <summary>The <c>extensions.http.routePrefix</c> of the functions app's host.json; Functions' default is "api".</summary>
    private static string ReadRoutePrefix(Assembly functions)
    {
        var path = Path.Combine(Path.GetDirectoryName(functions.Location) ?? AppContext.BaseDirectory, "host.json");
        if (!File.Exists(path)) return "api";
        using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return document.RootElement.TryGetProperty("extensions", out var extensions)
            && extensions.TryGetProperty("http", out var http)
            && http.TryGetProperty("routePrefix", out var prefix)
            && prefix.ValueKind == JsonValueKind.String
            ? prefix.GetString()!
            : "api";
    }

    private static void PrintBanner(WebApplication app, HttpFunctionRouter router, IReadOnlyList<FunctionDescriptor> functions)
    {
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "?";
        var engine = app.Services.GetRequiredService<IOptions<EngineOptions>>().Value;
        var output = Console.Out;
        output.WriteLine("Serverless DynamoDB local function host");
        foreach (var route in router.Routes) output.WriteLine($"  function {route.Function.Name}: {route.Describe()}");
        foreach (var function in functions)
        {
            if (router.Routes.All(r => r.Function != function))
                output.WriteLine($"  function {function.Name}: {function.Trigger.GetType().Name} is not run by this host yet");
        }

        output.WriteLine($"  storage: {(engine.InMemory ? "in memory" : Path.GetFullPath(engine.DataDirectory))}");
        output.WriteLine($"Now listening on: {url}");
        output.WriteLine($"Try: aws dynamodb list-tables --endpoint-url {url}");
        output.WriteLine("Press Ctrl+C to stop.");
        output.Flush();
    }
}
