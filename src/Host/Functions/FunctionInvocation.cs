using System.Reflection;

namespace Serverless.Host.Functions;

/// <summary>
/// Invokes a non-HTTP function as the Functions worker does: a DI scope per invocation, the class built from it,
/// arguments bound by the caller, and the awaited result, with the function's own exception rethrown as is.
/// </summary>
internal static class FunctionInvocation
{
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2072", Justification = RootedFunctions.Justification)]
    public static async Task InvokeAsync(IServiceProvider services, MethodInfo method, Func<ParameterInfo, IServiceProvider, object?> bind)
    {
        await using var scope = services.CreateAsyncScope();
        var instance = method.IsStatic ? null : ActivatorUtilities.CreateInstance(scope.ServiceProvider, method.DeclaringType!);
        var parameters = method.GetParameters();
        var arguments = new object?[parameters.Length];
        for (var i = 0; i < parameters.Length; i++) arguments[i] = bind(parameters[i], scope.ServiceProvider);
        try
        {
            switch (method.Invoke(instance, arguments))
            {
                case Task task:
                    await task.ConfigureAwait(false);
                    break;
                case ValueTask valueTask:
                    await valueTask.ConfigureAwait(false);
                    break;
            }
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }
}
