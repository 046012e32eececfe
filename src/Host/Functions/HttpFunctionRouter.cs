using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;

namespace Serverless.Host.Functions;

/// <summary>One HTTP function reachable at one route.</summary>
internal sealed record HttpFunctionRoute(FunctionDescriptor Function, string Route, string[]? Methods, HttpFunctionDelegate Invoke)
{
    public bool Accepts(string method)
    {
        if (Methods is null) return true;
        foreach (var m in Methods)
        {
            if (string.Equals(m, method, StringComparison.OrdinalIgnoreCase)) return true;
        }

        return false;
    }

    public string Describe() => $"{(Methods is null ? "*" : string.Join(',', Methods).ToUpperInvariant())} /{Route}";
}

/// <summary>
/// The whole request pipeline of the local host: maps a request to its function by path and method, with no
/// routing middleware. Literal routes (the DynamoDB API's <c>POST /</c>) are one allocation-free dictionary
/// lookup; routes with parameters fall back to a template match. A miss answers 404, as the Functions host does.
/// </summary>
internal sealed class HttpFunctionRouter
{
    private readonly FrozenDictionary<string, HttpFunctionRoute[]>.AlternateLookup<ReadOnlySpan<char>> _literal;
    private readonly (TemplateMatcher Matcher, HttpFunctionRoute Route)[] _templated;

    public HttpFunctionRouter(IEnumerable<HttpFunctionRoute> routes)
    {
        var all = routes.ToList();
        Routes = all;
        _literal = all.Where(r => !r.Route.Contains('{', StringComparison.Ordinal))
            .GroupBy(r => r.Route, StringComparer.OrdinalIgnoreCase)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.OrdinalIgnoreCase)
            .GetAlternateLookup<ReadOnlySpan<char>>();
        _templated = [.. all.Where(r => r.Route.Contains('{', StringComparison.Ordinal))
            .Select(r => (new TemplateMatcher(ParseTemplate(r), []), r))];
    }

    public IReadOnlyList<HttpFunctionRoute> Routes { get; }

    /// <summary>Builds the routes of every HTTP-triggered function; <paramref name="routePrefix"/> comes from host.json.</summary>
    public static HttpFunctionRouter Create(IEnumerable<FunctionDescriptor> functions, string routePrefix, IServiceCollection registrations, RootServices root)
    {
        var routes = new List<HttpFunctionRoute>();
        foreach (var function in functions)
        {
            if (function.Trigger is not HttpTriggerAttribute http) continue;
            var route = string.Join('/', new[] { routePrefix.Trim('/'), (http.Route ?? function.Name).Trim('/') }.Where(s => s.Length > 0));
            routes.Add(new HttpFunctionRoute(function, route, http.Methods is { Length: > 0 } m ? m : null, Bind(function, registrations, root)));
        }

        return new HttpFunctionRouter(routes);
    }

    /// <summary>The compile-time binding of the function; by reflection only where the runtime can generate code.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = RootedFunctions.Justification)]
    private static HttpFunctionDelegate Bind(FunctionDescriptor function, IServiceCollection registrations, RootServices root)
    {
        if (BoundHttpFunctions.TryGet(function.EntryPoint, out var bind)) return bind(registrations, root);
        if (!RuntimeFeature.IsDynamicCodeSupported)
            throw new NotSupportedException($"Function '{function.Name}' ({function.EntryPoint}) is not listed in src/Host/Functions/BoundHttpFunctions.cs, and a Native AOT build cannot bind it by reflection.");
        return HttpFunctionInvoker.Compile(function, registrations, root);
    }

    public Task DispatchAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value.AsSpan().Trim('/');
        if (_literal.TryGetValue(path, out var candidates))
        {
            foreach (var route in candidates)
            {
                if (route.Accepts(request.Method)) return route.Invoke(context);
            }
        }

        return _templated.Length == 0 ? NotFound(context) : DispatchTemplatedAsync(context);
    }

    private Task DispatchTemplatedAsync(HttpContext context)
    {
        var request = context.Request;
        var path = "/" + request.Path.Value?.Trim('/');
        foreach (var (matcher, route) in _templated)
        {
            var values = new RouteValueDictionary();
            if (route.Accepts(request.Method) && matcher.TryMatch(path, values))
            {
                request.RouteValues = values;
                return route.Invoke(context);
            }
        }

        return NotFound(context);
    }

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static RouteTemplate ParseTemplate(HttpFunctionRoute route)
    {
        var template = TemplateParser.Parse(route.Route);
        foreach (var parameter in template.Parameters)
        {
            if (parameter.InlineConstraints.Any())
                throw new NotSupportedException($"Function '{route.Function.Name}': route constraints ('{route.Route}') are not supported by the local host.");
        }

        return template;
    }
}
