using Serverless.Engine.Protocol;

namespace Serverless.Engine.Security.Authentication;

/// <summary>Verifies a request's SigV4 signature against the configured keys.</summary>
public sealed class RequestAuthenticator
{
    private readonly EngineOptions _options;

    internal RequestAuthenticator(EngineOptions options)
    {
        _options = options;
    }

    /// <summary>The caller whose key signed the request; throws the AWS authentication error otherwise.</summary>
    public Caller Authenticate(in ApiRequest request, ReadOnlySpan<byte> body)
    {
        // Placeholder until signature verification lands: never reached while Mode is AcceptAny.
        _ = body;
        throw DynamoErrors.MissingAuthenticationToken();
    }
}
