using System.Text.Json;
using Serverless.Engine.Operations;

namespace Serverless.Engine.Security.Authorization;

/// <summary>Evaluates identity and resource policies for the actions and resources each operation needs.</summary>
public sealed class Authorizer
{
    private readonly EngineOptions _options;

    internal Authorizer(EngineOptions options)
    {
        _options = options;
    }

    /// <summary>Throws AccessDeniedException unless the caller may perform everything the request asks.</summary>
    public void Authorize(OperationContext context, string target, JsonElement request)
    {
        _ = _options;
        _ = context;
        _ = target;
        _ = request;
    }

    /// <summary>
    /// Throws AccessDeniedException unless <paramref name="caller"/> may perform <paramref name="action"/> on
    /// <paramref name="resource"/> (an ARN, or <c>*</c>). The local host's admin routes use actions such as
    /// <c>admin:GetMetrics</c>, <c>admin:AdvanceClock</c> and <c>admin:InvokeFunction</c> on resource <c>*</c>.
    /// </summary>
    public void Check(Caller caller, string action, string resource)
    {
        _ = caller;
        _ = action;
        _ = resource;
    }
}
