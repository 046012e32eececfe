using System.Collections;
using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace Serverless.Host.Functions;

/// <summary>
/// The <see cref="FunctionContext"/> a function gets when it asks for one. Only allocated for functions that take
/// a FunctionContext parameter. <c>GetHttpContext()</c> works because <c>Items["HttpRequestContext"]</c> holds the
/// request's <see cref="HttpContext"/>, the key the ASP.NET Core integration reads.
/// </summary>
internal sealed class LocalFunctionContext : FunctionContext
{
    /// <summary>Key under which Microsoft.Azure.Functions.Worker.Extensions.Http.AspNetCore looks up the HttpContext.</summary>
    public const string HttpContextKey = "HttpRequestContext";

    private IDictionary<object, object> _items;

    public LocalFunctionContext(LocalFunctionDefinition definition, HttpContext httpContext)
    {
        FunctionDefinition = definition;
        InvocationId = Guid.NewGuid().ToString();
        InstanceServices = httpContext.RequestServices;
        CancellationToken = httpContext.RequestAborted;
        TraceContext = new LocalTraceContext(Activity.Current);
        _items = new Dictionary<object, object> { [HttpContextKey] = httpContext };
    }

    /// <summary>A context for a non-HTTP invocation (queue messages).</summary>
    public LocalFunctionContext(LocalFunctionDefinition definition, IServiceProvider services, CancellationToken cancellationToken)
    {
        FunctionDefinition = definition;
        InvocationId = Guid.NewGuid().ToString();
        InstanceServices = services;
        CancellationToken = cancellationToken;
        TraceContext = new LocalTraceContext(Activity.Current);
        _items = new Dictionary<object, object>();
    }

    public override string InvocationId { get; }

    public override string FunctionId => FunctionDefinition.Id;

    public override TraceContext TraceContext { get; }

    public override BindingContext BindingContext { get; } = LocalBindingContext.Empty;

    public override RetryContext RetryContext => null!;

    public override IServiceProvider InstanceServices { get; set; }

    public override FunctionDefinition FunctionDefinition { get; }

    public override IDictionary<object, object> Items
    {
        get => _items;
        set => _items = value;
    }

    public override IInvocationFeatures Features { get; } = new LocalInvocationFeatures();

    public override CancellationToken CancellationToken { get; }

    private sealed class LocalTraceContext(Activity? activity) : TraceContext
    {
        public override string TraceParent { get; } = activity?.Id ?? string.Empty;

        public override string TraceState { get; } = activity?.TraceStateString ?? string.Empty;
    }

    private sealed class LocalBindingContext : BindingContext
    {
        public static readonly LocalBindingContext Empty = new();

        public override IReadOnlyDictionary<string, object?> BindingData { get; } = ImmutableDictionary<string, object?>.Empty;
    }

    private sealed class LocalInvocationFeatures : IInvocationFeatures
    {
        private readonly Dictionary<Type, object> _features = [];

        public T? Get<T>() => _features.TryGetValue(typeof(T), out var value) ? (T)value : default;

        public void Set<T>(T instance)
        {
            if (instance is null) _features.Remove(typeof(T));
            else _features[typeof(T)] = instance;
        }

        public IEnumerator<KeyValuePair<Type, object>> GetEnumerator() => _features.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>Static description of one function, built once at start-up.</summary>
internal sealed class LocalFunctionDefinition : FunctionDefinition
{
    public LocalFunctionDefinition(FunctionDescriptor function)
    {
        Name = function.Name;
        Id = function.Name;
        EntryPoint = function.EntryPoint;
        // The assembly's file next to the host's (Assembly.Location is empty in a Native AOT build).
        PathToAssembly = Path.Combine(AppContext.BaseDirectory, function.Method.DeclaringType!.Assembly.GetName().Name + ".dll");
        Parameters = [.. function.Method.GetParameters().Select(p => new FunctionParameter(p.Name ?? string.Empty, p.ParameterType))];
    }

    public override ImmutableArray<FunctionParameter> Parameters { get; }

    public override string PathToAssembly { get; }

    public override string EntryPoint { get; }

    public override string Id { get; }

    public override string Name { get; }

    public override IImmutableDictionary<string, BindingMetadata> InputBindings { get; } = ImmutableDictionary<string, BindingMetadata>.Empty;

    public override IImmutableDictionary<string, BindingMetadata> OutputBindings { get; } = ImmutableDictionary<string, BindingMetadata>.Empty;
}
