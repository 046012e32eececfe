using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Security.Authentication;
using Serverless.Engine.Security.Authorization;

namespace Serverless.Engine.Security;

/// <summary>
/// The request path's one security gate: <see cref="Authenticate"/> verifies who signed a request,
/// <see cref="Authorize"/> checks what that caller may do. Both throw the DynamoDB error AWS would return.
/// </summary>
public sealed class EngineSecurity
{
    internal EngineSecurity(EngineOptions options, TimeProvider time)
    {
        Mode = options.Auth.EffectiveMode;
        Authenticator = new RequestAuthenticator(options, time);
        Authorizer = new Authorizer(options);
    }

    public AuthMode Mode { get; }

    /// <summary>True when hosts must fill <see cref="ApiRequest"/>'s method, raw path, raw query and headers.</summary>
    public bool VerifiesSignatures => Mode == AuthMode.Verify;

    public RequestAuthenticator Authenticator { get; }

    public Authorizer Authorizer { get; }

    /// <summary>The caller who signed <paramref name="request"/>; null in <see cref="AuthMode.AcceptAny"/>.</summary>
    public Caller? Authenticate(in ApiRequest request, ReadOnlySpan<byte> body) =>
        Mode == AuthMode.AcceptAny ? null : Authenticator.Authenticate(request, body);

    /// <summary>Checks every action and resource the operation named by <paramref name="target"/> needs.</summary>
    public void Authorize(OperationContext context, string target, JsonElement request)
    {
        if (context.Caller is null) return;
        Authorizer.Authorize(context, target, request);
    }
}
