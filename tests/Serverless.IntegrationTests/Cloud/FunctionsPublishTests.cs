using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Cloud;

/// <summary>
/// <c>dotnet publish functions/</c>, once for the class, into a temporary folder: what the Azure Functions host reads
/// from the published app (functions.metadata, worker.config.json, host.json, extensions.json) describes every
/// <c>[Function]</c> method found in the published assembly, with its trigger, and nothing the host cannot run.
/// </summary>
public sealed partial class FunctionsPublishTests(PublishedFunctions published) : IClassFixture<PublishedFunctions>
{
    private const string FunctionAttribute = "Microsoft.Azure.Functions.Worker.FunctionAttribute";

    [Fact]
    public void Metadata_DescribesEveryFunctionMethod_WithItsTrigger()
    {
        var metadata = published.Metadata.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        var methods = FunctionMethods();

        Assert.NotEmpty(methods);
        Assert.Equal(methods.Keys.Order(), metadata.Keys.Order());
        foreach (var (name, method) in methods)
        {
            var function = metadata[name];
            Assert.Equal($"{method.DeclaringType!.FullName}.{method.Name}", function.GetProperty("entryPoint").GetString());
            Assert.Equal("dotnet-isolated", function.GetProperty("language").GetString());
            Assert.Equal("Serverless.Functions.dll", function.GetProperty("scriptFile").GetString());

            var (parameter, trigger) = Assert.Single(method.GetParameters()
                .SelectMany(p => p.GetCustomAttributesData().Where(a => a.AttributeType.Name.EndsWith("TriggerAttribute", StringComparison.Ordinal)).Select(a => (p, a))));
            var binding = Assert.Single(function.GetProperty("bindings").EnumerateArray(), b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
            Assert.Equal(parameter.Name, binding.GetProperty("name").GetString());
            Assert.Equal("In", binding.GetProperty("direction").GetString());
            switch (trigger.AttributeType.Name)
            {
                case "HttpTriggerAttribute":
                    Assert.Equal("httpTrigger", binding.GetProperty("type").GetString());
                    var route = trigger.NamedArguments.FirstOrDefault(a => a.MemberName == "Route").TypedValue.Value as string;
                    Assert.Equal(route, binding.TryGetProperty("route", out var r) ? r.GetString() : null);
                    var verbs = trigger.ConstructorArguments.SelectMany(Strings).Select(v => v.ToLowerInvariant()).Order();
                    Assert.Equal(verbs, binding.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!.ToLowerInvariant()).Order());
                    break;
                case "TimerTriggerAttribute":
                    Assert.Equal("timerTrigger", binding.GetProperty("type").GetString());
                    Assert.Equal(trigger.ConstructorArguments[0].Value as string, binding.GetProperty("schedule").GetString());
                    break;
                case "QueueTriggerAttribute":
                    Assert.Equal("queueTrigger", binding.GetProperty("type").GetString());
                    Assert.Equal(trigger.ConstructorArguments[0].Value as string, binding.GetProperty("queueName").GetString());
                    break;
                default:
                    Assert.Fail($"{name}: this test does not know {trigger.AttributeType.Name}; add its binding's checks here.");
                    break;
            }
        }
    }

    [Fact]
    public void Metadata_HasTheKnownFunctions_WithTheirRoutesSchedulesAndQueues()
    {
        var bindings = published.Metadata.EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!,
            f => f.GetProperty("bindings").EnumerateArray().First());

        // The DynamoDB endpoint: POST / at the root (host.json's routePrefix is empty), no function key.
        Assert.Equal("httpTrigger", bindings["DynamoDbApi"].GetProperty("type").GetString());
        Assert.Equal("", bindings["DynamoDbApi"].GetProperty("route").GetString());
        Assert.Equal(["post"], bindings["DynamoDbApi"].GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("Anonymous", bindings["DynamoDbApi"].GetProperty("authLevel").GetString());
        foreach (var (timer, setting) in new[] { ("TtlSweep", "TtlSweepSchedule"), ("Checkpoint", "CheckpointSchedule"), ("ScheduledBackups", "BackupSchedule"), ("StreamFanOut", "StreamFanOutSchedule") })
            Assert.Equal($"%{setting}%", bindings[timer].GetProperty("schedule").GetString());
        Assert.Equal("%AuditLogQueue%", bindings["AuditLog"].GetProperty("queueName").GetString());
    }

    /// <summary>A <c>%Setting%</c> that resolves to nothing puts the function in error in Azure: each one is set where the app runs.</summary>
    [Fact]
    public void EverySettingABindingNames_IsSetByTheDeploymentAndTheSampleSettings()
    {
        var named = published.Metadata.EnumerateArray()
            .SelectMany(f => f.GetProperty("bindings").EnumerateArray())
            .SelectMany(b => b.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).Select(p => p.Value.GetString()!))
            .SelectMany(v => SettingReference().Matches(v).Select(m => m.Groups[1].Value))
            .Distinct().Order().ToList();
        Assert.NotEmpty(named);

        var bicep = File.ReadAllText(Path.Combine(RepositoryLayout.Root, "infra", "bicep", "main.bicep"));
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryLayout.Root, "local.settings.sample.json")));
        var values = sample.RootElement.GetProperty("Values");
        foreach (var setting in named)
        {
            Assert.Contains($"{{ name: '{setting}', value: ", bicep, StringComparison.Ordinal);
            Assert.True(values.TryGetProperty(setting, out var v) && v.GetString() is { Length: > 0 }, $"local.settings.sample.json does not set {setting}");
        }

        Assert.Contains("{ name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }", bicep, StringComparison.Ordinal);
        Assert.Equal("dotnet-isolated", values.GetProperty("FUNCTIONS_WORKER_RUNTIME").GetString());
    }

    [Fact]
    public void WorkerConfig_StartsThePublishedAssembly_WithWorkerIndexing()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(published.Directory, "worker.config.json")));
        var description = document.RootElement.GetProperty("description");

        Assert.Equal("dotnet-isolated", description.GetProperty("language").GetString());
        Assert.Equal("dotnet", description.GetProperty("defaultExecutablePath").GetString());
        var worker = description.GetProperty("defaultWorkerPath").GetString()!;
        Assert.Equal("Serverless.Functions.dll", worker);
        Assert.True(File.Exists(Path.Combine(published.Directory, worker)), $"{worker} is not in the published app");
        Assert.Contains(".dll", description.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("true", description.GetProperty("workerIndexing").GetString());

        // The worker runs on .NET 10 (FUNCTIONS_WORKER_RUNTIME dotnet-isolated, DOTNET-ISOLATED|10.0 in infra/bicep).
        using var runtime = JsonDocument.Parse(File.ReadAllText(Path.Combine(published.Directory, "Serverless.Functions.runtimeconfig.json")));
        Assert.Equal("net10.0", runtime.RootElement.GetProperty("runtimeOptions").GetProperty("tfm").GetString());
    }

    /// <summary>
    /// A .NET app brings its binding extensions as NuGet packages (extensions.json and .azurefunctions/), not through
    /// an extension bundle, which is for non-.NET apps: host.json must not ask for one.
    /// </summary>
    [Fact]
    public void HostJson_HasNoExtensionBundle_AndTheExtensionsTheTriggersNeedArePublished()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(published.Directory, "host.json")));
        Assert.Equal("2.0", host.RootElement.GetProperty("version").GetString());
        Assert.False(host.RootElement.TryGetProperty("extensionBundle", out _), "host.json has an extensionBundle: .NET isolated apps publish their extensions");
        Assert.Equal("", host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());

        using var extensions = JsonDocument.Parse(File.ReadAllText(Path.Combine(published.Directory, "extensions.json")));
        var listed = extensions.RootElement.GetProperty("extensions").EnumerateArray().ToList();
        foreach (var extension in listed)
        {
            var hint = extension.GetProperty("hintPath").GetString()!;
            Assert.True(File.Exists(Path.GetFullPath(Path.Combine(published.Directory, hint))), $"extensions.json names {hint}, which is not published");
        }

        // HTTP and timer triggers are built into the Functions host; queue triggers need the Storage Queues extension.
        var triggers = published.Metadata.EnumerateArray().SelectMany(f => f.GetProperty("bindings").EnumerateArray()).Select(b => b.GetProperty("type").GetString()).ToHashSet();
        if (triggers.Contains("queueTrigger")) Assert.Contains("AzureStorageQueues", listed.Select(e => e.GetProperty("name").GetString()));
        Assert.Empty(triggers.Except(["httpTrigger", "timerTrigger", "queueTrigger"]));
    }

    /// <summary>The <c>[Function]</c> methods of the published assembly, by function name, read without running any of it.</summary>
    private Dictionary<string, MethodInfo> FunctionMethods()
    {
        var runtime = RuntimeEnvironment.GetRuntimeDirectory();
        var aspNet = Path.Combine(runtime, "..", "..", "Microsoft.AspNetCore.App", Path.GetFileName(runtime.TrimEnd(Path.DirectorySeparatorChar)));
        var paths = Directory.GetFiles(published.Directory, "*.dll")
            .Concat(Directory.GetFiles(runtime, "*.dll"))
            .Concat(Directory.Exists(aspNet) ? Directory.GetFiles(aspNet, "*.dll") : []);
        var context = new MetadataLoadContext(new PathAssemblyResolver(paths.GroupBy(Path.GetFileName).Select(g => g.First())));
        published.Disposables.Add(context);
        var assembly = context.LoadFromAssemblyPath(Path.Combine(published.Directory, "Serverless.Functions.dll"));
        var methods = new Dictionary<string, MethodInfo>(StringComparer.Ordinal);
        foreach (var type in assembly.GetTypes())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                if (method.GetCustomAttributesData().FirstOrDefault(a => a.AttributeType.FullName == FunctionAttribute) is { } function)
                    methods.Add((string)function.ConstructorArguments[0].Value!, method);
            }
        }

        return methods;
    }

    private static IEnumerable<string> Strings(CustomAttributeTypedArgument argument) => argument.Value switch
    {
        string s => [s],
        IEnumerable<CustomAttributeTypedArgument> array => array.Select(a => a.Value).OfType<string>(),
        _ => [],
    };

    [GeneratedRegex("%([A-Za-z0-9_]+)%")]
    private static partial Regex SettingReference();
}

/// <summary>The functions app published once (<c>dotnet publish --no-build</c> of the configuration the tests were built in).</summary>
public sealed class PublishedFunctions : IAsyncLifetime
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("serverless-publish-").FullName;

    public JsonElement Metadata { get; private set; }

    internal List<IDisposable> Disposables { get; } = [];

    public async Task InitializeAsync()
    {
        var project = Path.Combine(RepositoryLayout.Root, "functions", "Serverless.Functions.csproj");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet ? dotnet : "dotnet",
            ["publish", project, "--no-build", "-c", RepositoryLayout.Configuration, "-o", Directory, "--nologo", "-v", "q"]);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var publish = await ProcessRunner.RunAsync(start, TimeSpan.FromMinutes(5));
        Assert.True(publish.ExitCode == 0, $"dotnet publish functions failed:\n{publish.StandardOutput}{publish.StandardError}");

        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Directory, "functions.metadata")));
        Metadata = document.RootElement.Clone();
    }

    public Task DisposeAsync()
    {
        foreach (var d in Disposables) d.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }
}
