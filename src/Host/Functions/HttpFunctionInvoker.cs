using System.Diagnostics.CodeAnalysis;
using System.Linq.Expressions;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.Host.Functions;

/// <summary>Holds the host's root service provider, which exists only after the invokers are compiled.</summary>
internal sealed class RootServices
{
    public IServiceProvider? Provider { get; set; }
}

/// <summary>Runs one HTTP-triggered function for one request.</summary>
internal delegate Task HttpFunctionDelegate(HttpContext context);

/// <summary>
/// Compiles, once at start-up, a delegate that builds the function class through DI (a precompiled
/// <see cref="ObjectFactory"/> over the request's services, as the Functions worker does per invocation),
/// binds the parameters from the <see cref="HttpContext"/> and calls the method. Nothing is reflected per request.
/// </summary>
internal static class HttpFunctionInvoker
{
    /// <summary>True when the function returns MVC action results, which need <c>AddMvcCore()</c>.</summary>
    public static bool ReturnsActionResult(FunctionDescriptor function)
    {
        var type = UnwrapTask(function.Method.ReturnType);
        return type is not null && typeof(IActionResult).IsAssignableFrom(type);
    }

    /// <summary>
    /// The reflection binding, for a function <see cref="BoundHttpFunctions"/> does not list: it generates code at run
    /// time, so only a JIT build runs it (a Native AOT build refuses such a function at start-up).
    /// </summary>
    /// <param name="function">The function to call.</param>
    /// <param name="registrations">The host's service registrations, to tell whether the class needs a request scope.</param>
    /// <param name="root">The root provider, filled in once the host is built.</param>
    [RequiresUnreferencedCode(BindsByReflection)]
    [RequiresDynamicCode(BindsByReflection)]
    public static HttpFunctionDelegate Compile(FunctionDescriptor function, IServiceCollection registrations, RootServices root)
    {
        var method = function.Method;
        var context = Expression.Parameter(typeof(HttpContext), "context");

        Expression? instance = null;
        if (!method.IsStatic)
        {
            var type = method.DeclaringType!;
            var factory = ActivatorUtilities.CreateFactory(type, Type.EmptyTypes);

            // A class built only from singletons gets them from the root provider: creating and disposing a
            // request scope would be pure per-request overhead. Otherwise it gets the request's scope, as in Azure.
            var fromRoot = BoundHttpFunctions.NeedsOnlySingletons(type, registrations);

            // The usual shape, `Task M(HttpRequest)` (every function of this app), binds a typed delegate to the method:
            // shared generic code, precompiled by ReadyToRun, where compiling an expression tree costs JIT at start-up.
            if (method.ReturnType == typeof(Task) && method.GetParameters() is [{ ParameterType: var only }] && only == typeof(HttpRequest) && type.IsClass)
                return (HttpFunctionDelegate)typeof(HttpFunctionInvoker).GetMethod(nameof(BindRequest), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type).Invoke(null, [method, factory, fromRoot, root])!;

            Expression provider = fromRoot
                ? Expression.Property(Expression.Constant(root), nameof(RootServices.Provider))
                : Expression.Property(context, nameof(HttpContext.RequestServices));
            instance = Expression.Convert(
                Expression.Invoke(Expression.Constant(factory), provider, Expression.Constant(null, typeof(object[]))),
                type);
        }

        var definition = new LocalFunctionDefinition(function);
        var arguments = method.GetParameters().Select(p => BindParameter(function, p, context, definition)).ToArray();
        Expression call = Expression.Call(instance, method, arguments);

        var returnType = method.ReturnType;
        Expression body;
        if (returnType == typeof(Task)) body = call;
        else if (returnType == typeof(void)) body = Expression.Block(call, Expression.Constant(Task.CompletedTask));
        else if (returnType == typeof(ValueTask)) body = Expression.Call(call, typeof(ValueTask).GetMethod(nameof(ValueTask.AsTask))!);
        else if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
            body = Expression.Call(AwaitResultMethod().MakeGenericMethod(returnType.GetGenericArguments()), call, context);
        else if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
            body = Expression.Call(
                AwaitResultMethod().MakeGenericMethod(returnType.GetGenericArguments()),
                Expression.Call(call, returnType.GetMethod(nameof(ValueTask<int>.AsTask))!),
                context);
        else body = Expression.Call(typeof(HttpFunctionInvoker).GetMethod(nameof(WriteResultAsync), BindingFlags.NonPublic | BindingFlags.Static)!, Expression.Convert(call, typeof(object)), context);

        return Expression.Lambda<HttpFunctionDelegate>(body, $"Invoke_{function.Name}", [context]).Compile();

        static MethodInfo AwaitResultMethod() => typeof(HttpFunctionInvoker).GetMethod(nameof(AwaitResultAsync), BindingFlags.NonPublic | BindingFlags.Static)!;
    }

    private const string BindsByReflection = "Binds a function by reflection and compiles an expression tree; BoundHttpFunctions binds the functions at compile time.";

    private static HttpFunctionDelegate BindRequest<T>(MethodInfo method, ObjectFactory factory, bool fromRoot, RootServices root)
        where T : class
    {
        var call = method.CreateDelegate<Func<T, HttpRequest, Task>>();
        return fromRoot
            ? context => call((T)factory(root.Provider!, null), context.Request)
            : context => call((T)factory(context.RequestServices, null), context.Request);
    }

    [RequiresUnreferencedCode(BindsByReflection)]
    private static Expression BindParameter(FunctionDescriptor function, ParameterInfo parameter, ParameterExpression context, LocalFunctionDefinition definition)
    {
        var type = parameter.ParameterType;
        if (type == typeof(HttpRequest)) return Expression.Property(context, nameof(HttpContext.Request));
        if (type == typeof(CancellationToken)) return Expression.Property(context, nameof(HttpContext.RequestAborted));
        if (type == typeof(FunctionContext))
            return Expression.New(
                typeof(LocalFunctionContext).GetConstructor([typeof(LocalFunctionDefinition), typeof(HttpContext)])!,
                Expression.Constant(definition),
                context);
        throw new NotSupportedException(
            $"Function '{function.Name}': the local host cannot bind parameter '{parameter.Name}' of type {type}. " +
            "HTTP functions may take HttpRequest, FunctionContext and CancellationToken.");
    }

    private static Type? UnwrapTask(Type type)
    {
        if (type == typeof(void) || type == typeof(Task) || type == typeof(ValueTask)) return null;
        if (type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(Task<>) || type.GetGenericTypeDefinition() == typeof(ValueTask<>)))
            return type.GetGenericArguments()[0];
        return type;
    }

    [RequiresUnreferencedCode(BindsByReflection)]
    [RequiresDynamicCode(BindsByReflection)]
    private static async Task AwaitResultAsync<T>(Task<T> task, HttpContext context) => await WriteResultAsync(await task.ConfigureAwait(false), context).ConfigureAwait(false);

    // What the Functions ASP.NET Core integration does with a returned value.
    [RequiresUnreferencedCode(BindsByReflection)]
    [RequiresDynamicCode(BindsByReflection)]
    private static Task WriteResultAsync(object? result, HttpContext context) => result switch
    {
        null => Task.CompletedTask,
        IActionResult action => action.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor())),
        IResult http => http.ExecuteAsync(context),
        _ => context.Response.WriteAsJsonAsync(result, result.GetType(), context.RequestAborted),
    };
}
