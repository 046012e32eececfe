using System.Reflection;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Core.FunctionMetadata;
using Microsoft.Azure.Functions.Worker.Extensions.Abstractions;

namespace Serverless.Host.Functions;

/// <summary>
/// The functions of the functions assembly as its build indexed them: the Functions worker SDK's source generator
/// emits a <c>GeneratedFunctionMetadataProvider</c> into the assembly (the metadata the Azure Functions host reads
/// with worker indexing), with each function's name, entry point and bindings. Reading it costs a few named
/// look-ups instead of a reflection scan of every exported method and parameter for attributes at each start.
/// </summary>
internal static class GeneratedFunctionCatalog
{
    /// <summary>The generated functions, sorted by name; null when the assembly has no generated provider.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = RootedFunctions.Justification)]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2072", Justification = RootedFunctions.Justification)]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = RootedFunctions.Justification)]
    public static IReadOnlyList<FunctionDescriptor>? TryRead(Assembly assembly)
    {
        var providerType = assembly.GetType(assembly.GetName().Name + ".GeneratedFunctionMetadataProvider")
            ?? assembly.GetType("Microsoft.Azure.Functions.Worker.GeneratedFunctionMetadataProvider");
        if (providerType is null || Activator.CreateInstance(providerType) is not IFunctionMetadataProvider provider) return null;

        var found = new List<FunctionDescriptor>();
        foreach (var metadata in provider.GetFunctionMetadataAsync(AppContext.BaseDirectory).GetAwaiter().GetResult())
        {
            if (Describe(assembly, metadata) is not { } function) return null; // something this reader does not know: scan instead
            found.Add(function);
        }

        found.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return found;
    }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = RootedFunctions.Justification)]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = RootedFunctions.Justification)]
    private static FunctionDescriptor? Describe(Assembly assembly, IFunctionMetadata metadata)
    {
        var entryPoint = metadata.EntryPoint ?? "";
        var dot = entryPoint.LastIndexOf('.');
        if (metadata.Name is null || dot <= 0) return null;
        var method = assembly.GetType(entryPoint[..dot])?.GetMethod(entryPoint[(dot + 1)..], BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly);
        if (method is null) return null;

        foreach (var raw in metadata.RawBindings ?? [])
        {
            using var binding = JsonDocument.Parse(raw);
            var root = binding.RootElement;
            var type = Text(root, "type");
            if (type is null || !type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase)) continue;
            var name = Text(root, "name");
            var parameter = Array.Find(method.GetParameters(), p => p.Name == name);
            var trigger = Trigger(type, root);
            return parameter is null || trigger is null ? null : new FunctionDescriptor(metadata.Name, method, parameter, trigger);
        }

        return null;
    }

    /// <summary>The trigger attribute the binding was generated from, with the properties the local host reads.</summary>
    private static TriggerBindingAttribute? Trigger(string type, JsonElement binding)
    {
        if (type.Equals("httpTrigger", StringComparison.OrdinalIgnoreCase))
        {
            var level = Enum.TryParse<AuthorizationLevel>(Text(binding, "authLevel"), ignoreCase: true, out var l) ? l : AuthorizationLevel.Function;
            var methods = binding.TryGetProperty("methods", out var m) && m.ValueKind == JsonValueKind.Array
                ? m.EnumerateArray().Select(x => x.GetString()!).ToArray()
                : null;
            return new HttpTriggerAttribute(level, methods ?? []) { Route = Text(binding, "route") };
        }

        if (type.Equals("timerTrigger", StringComparison.OrdinalIgnoreCase) && Text(binding, "schedule") is { } schedule)
            return new TimerTriggerAttribute(schedule);
        if (type.Equals("queueTrigger", StringComparison.OrdinalIgnoreCase) && Text(binding, "queueName") is { } queue)
            return new QueueTriggerAttribute(queue);
        return null;
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>
    /// Debug builds (the test suite) check at every start that the generated catalog says what a reflection scan of
    /// the attributes says, so the two can never drift apart unnoticed.
    /// </summary>
    [System.Diagnostics.Conditional("DEBUG")]
    public static void AssertMatchesReflection(Assembly assembly, IReadOnlyList<FunctionDescriptor> generated)
    {
        var scanned = FunctionCatalog.Discover(assembly);
        var difference = scanned.Count != generated.Count ? $"{scanned.Count} functions by reflection, {generated.Count} generated" : null;
        for (var i = 0; difference is null && i < scanned.Count; i++)
        {
            if (Key(scanned[i]) != Key(generated[i])) difference = $"'{Key(scanned[i])}' by reflection, '{Key(generated[i])}' generated";
        }

        if (difference is not null) throw new InvalidOperationException($"The generated function metadata differs from the [Function] attributes: {difference}.");

        static string Key(FunctionDescriptor f) => f.Trigger switch
        {
            HttpTriggerAttribute h => $"{f.Name} {f.EntryPoint}({f.TriggerParameter.Name}) http {h.Route} {string.Join(',', h.Methods ?? [])}",
            TimerTriggerAttribute t => $"{f.Name} {f.EntryPoint}({f.TriggerParameter.Name}) timer {t.Schedule}",
            QueueTriggerAttribute q => $"{f.Name} {f.EntryPoint}({f.TriggerParameter.Name}) queue {q.QueueName}",
            var other => $"{f.Name} {f.EntryPoint}({f.TriggerParameter.Name}) {other.GetType().Name}",
        };
    }
}
