namespace Serverless.Functions.Hosting;

/// <summary>Which entry point composes the engine: it decides what an unconfigured <c>Auth</c> section means.</summary>
public enum ServerlessHost
{
    /// <summary>The local host (src/Host): with no key configured, any credentials are accepted, as DynamoDB Local does.</summary>
    Local = 0,

    /// <summary>The function app in Azure: SigV4 is verified, and start-up fails without a key unless <c>Auth__Mode=AcceptAny</c>.</summary>
    Cloud = 1,
}
