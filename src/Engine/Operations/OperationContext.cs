namespace Serverless.Engine.Operations;

/// <summary>Per-request facts an operation needs: the engine, the caller's region and the request id.</summary>
public sealed class OperationContext(DynamoEngine engine, string region, string requestId)
{
    public DynamoEngine Engine { get; } = engine;

    public string Region { get; } = region;

    public string RequestId { get; } = requestId;

    /// <summary>The verified caller; null when the engine accepts any credentials (<see cref="Security.AuthMode.AcceptAny"/>).</summary>
    public Security.Caller? Caller { get; init; }

    /// <summary>
    /// The request was compiled from a PartiQL statement (src/Engine/PartiQL). Such a Query may filter on key
    /// attributes, because a WHERE clause can say more about the keys than a key condition holds.
    /// </summary>
    internal bool FromPartiQL { get; init; }

    /// <summary>
    /// The Host header the request was sent to (<c>127.0.0.1:8000</c>), and whether over HTTPS: DescribeEndpoints
    /// answers the host, and DAX cluster endpoints are reported on it.
    /// </summary>
    internal string? Host { get; init; }

    internal bool Https { get; init; }
}
