using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Engine;
using Serverless.Functions.Http;

namespace Serverless.Host.Functions;

/// <summary>
/// The functions assembly's HTTP functions bound at compile time: entry point → a static lambda that constructs the
/// function class from the services and calls its method, as the worker SDK's generated executor does in Azure.
/// Nothing here is reflection or runtime code generation, so it is what a Native AOT publish runs (docs/startup.md),
/// and a JIT build spends no start-up time compiling an invoker per function. A function missing here is bound by
/// reflection (<see cref="HttpFunctionInvoker"/>) where the runtime can generate code, and refused at start-up under
/// Native AOT; a Debug build (the test suite) checks at every start that the table lists exactly the HTTP functions
/// of the catalog (<see cref="AssertCovers"/>), so it cannot fall behind the function classes.
/// </summary>
internal static class BoundHttpFunctions
{
    /// <summary>Makes the delegate of one function, given the host's registrations and its root provider (filled in later).</summary>
    public delegate HttpFunctionDelegate Binder(IServiceCollection registrations, RootServices root);

    private static readonly FrozenDictionary<string, Binder> Table = new[]
    {
        Entry<DynamoDbApi>(nameof(DynamoDbApi.RunAsync), static (s, r) => new DynamoDbApi(s.GetRequiredService<EngineRegions>()).RunAsync(r)),
        Entry<DynamoDbEdge>(nameof(DynamoDbEdge.HealthAsync), static (s, r) => new DynamoDbEdge(s.GetRequiredService<IOptions<EngineOptions>>()).HealthAsync(r)),
        Entry<DynamoDbEdge>(nameof(DynamoDbEdge.PreflightAsync), static (s, r) => new DynamoDbEdge(s.GetRequiredService<IOptions<EngineOptions>>()).PreflightAsync(r)),
        Entry<DaxClusterApi>(nameof(DaxClusterApi.RunAsync), static (s, r) => new DaxClusterApi(s.GetRequiredService<DynamoEngine>()).RunAsync(r)),
        Entry<ConsoleSite>(nameof(ConsoleSite.RunAsync), static (_, r) => new ConsoleSite().RunAsync(r)),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The compile-time binding of the function at <paramref name="entryPoint"/> (type full name, dot, method), if listed.</summary>
    public static bool TryGet(string entryPoint, [NotNullWhen(true)] out Binder? binder) => Table.TryGetValue(entryPoint, out binder);

    /// <summary>
    /// One function: <paramref name="call"/> builds the class and calls the method. A class built only from singletons
    /// gets them from the root provider, as with the reflection binding; otherwise it gets the request's scope.
    /// </summary>
    private static KeyValuePair<string, Binder> Entry<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] T>(
        string method, Func<IServiceProvider, HttpRequest, Task> call) =>
        new($"{typeof(T).FullName}.{method}", (registrations, root) =>
            NeedsOnlySingletons(typeof(T), registrations)
                ? context => call(root.Provider!, context.Request)
                : context => call(context.RequestServices, context.Request));

    /// <summary>True when every constructor argument of <paramref name="type"/> is a singleton (or optional and unregistered).</summary>
    public static bool NeedsOnlySingletons([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] Type type, IServiceCollection registrations)
    {
        var constructors = type.GetConstructors();
        if (constructors.Length != 1) return false;
        foreach (var parameter in constructors[0].GetParameters())
        {
            var wanted = parameter.ParameterType;
            var open = wanted.IsConstructedGenericType ? wanted.GetGenericTypeDefinition() : null;
            ServiceDescriptor? match = null;
            foreach (var descriptor in registrations)
            {
                if (descriptor.ServiceType == wanted || (open is not null && descriptor.ServiceType == open)) match = descriptor;
            }

            if (match is null ? !parameter.HasDefaultValue : match.Lifetime != ServiceLifetime.Singleton) return false;
        }

        return true;
    }

    /// <summary>Debug builds: the table lists exactly the catalog's HTTP functions, by entry point.</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    public static void AssertCovers(IReadOnlyList<FunctionDescriptor> functions)
    {
        var http = functions.Where(f => f.Trigger is Microsoft.Azure.Functions.Worker.HttpTriggerAttribute).Select(f => f.EntryPoint).ToHashSet(StringComparer.Ordinal);
        var missing = http.Where(e => !Table.ContainsKey(e)).Order(StringComparer.Ordinal).ToList();
        var extra = Table.Keys.Where(e => !http.Contains(e)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new InvalidOperationException(
                $"src/Host/Functions/BoundHttpFunctions.cs is out of date: HTTP functions not listed: [{string.Join(", ", missing)}]; listed but not HTTP functions: [{string.Join(", ", extra)}].");
    }
}
