using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Extensions.Abstractions;

namespace Serverless.Host.Functions;

/// <summary>One <c>[Function]</c> method and its trigger, as found by reflection.</summary>
internal sealed record FunctionDescriptor(string Name, MethodInfo Method, ParameterInfo TriggerParameter, TriggerBindingAttribute Trigger)
{
    public string EntryPoint => $"{Method.DeclaringType!.FullName}.{Method.Name}";
}

/// <summary>
/// Finds the <c>[Function]</c> methods of the functions assembly the way the Functions SDK does: a public
/// method with <see cref="FunctionAttribute"/> and exactly one parameter carrying a trigger attribute.
/// </summary>
internal static class FunctionCatalog
{
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = RootedFunctions.Justification)]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = RootedFunctions.Justification)]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2065", Justification = RootedFunctions.Justification)]
    public static IReadOnlyList<FunctionDescriptor> Discover(Assembly assembly)
    {
        var found = new List<FunctionDescriptor>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var type in assembly.GetExportedTypes())
        {
            if (!type.IsClass || (type.IsAbstract && !type.IsSealed) || type.ContainsGenericParameters) continue;
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                var function = method.GetCustomAttribute<FunctionAttribute>();
                if (function is null) continue;

                var triggers = method.GetParameters()
                    .Select(p => (Parameter: p, Trigger: p.GetCustomAttribute<TriggerBindingAttribute>(inherit: true)))
                    .Where(p => p.Trigger is not null)
                    .ToList();
                if (triggers.Count != 1)
                    throw new InvalidOperationException($"Function '{function.Name}' ({type.FullName}.{method.Name}) must have exactly one trigger parameter; it has {triggers.Count}.");
                if (!names.Add(function.Name))
                    throw new InvalidOperationException($"Two functions are named '{function.Name}'.");

                found.Add(new FunctionDescriptor(function.Name, method, triggers[0].Parameter, triggers[0].Trigger!));
            }
        }

        found.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return found;
    }
}
