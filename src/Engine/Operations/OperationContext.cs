namespace Serverless.Engine.Operations;

/// <summary>
/// Per-request facts an operation needs: the engine, the caller's region and the request id. The request handler
/// reuses one per thread (<see cref="Rent"/>/<see cref="Return"/>), so operations must not keep it past the request.
/// </summary>
public sealed class OperationContext
{
    [ThreadStatic]
    private static OperationContext? t_spare;

    private long _requestNumber;
    private string? _requestId;
    private Security.Caller? _caller;
    private string? _host;
    private bool _https;

    public OperationContext(DynamoEngine engine, string region, string requestId)
    {
        Engine = engine;
        Region = region;
        _requestId = requestId;
    }

    private OperationContext(DynamoEngine engine, string region)
    {
        Engine = engine;
        Region = region;
    }

    /// <summary>
    /// This thread's spare context (or a new one), filled for one request of the request handler: the id's text is
    /// made only if an operation reads it. Hand it back with <see cref="Return"/> once the operation has completed.
    /// </summary>
    internal static OperationContext Rent(DynamoEngine engine, string region, long requestNumber, Security.Caller? caller, string? host, bool https)
    {
        var context = t_spare;
        if (context == null) context = new OperationContext(engine, region);
        else
        {
            t_spare = null;
            context.Engine = engine;
            context.Region = region;
        }

        context._requestNumber = requestNumber;
        context._requestId = null;
        context._caller = caller;
        context._host = host;
        context._https = https;
        return context;
    }

    internal static void Return(OperationContext context)
    {
        context._caller = null;
        context._host = null;
        t_spare = context;
    }

    public DynamoEngine Engine { get; private set; }

    public string Region { get; private set; }

    public string RequestId => _requestId ??= Protocol.RequestHandler.FormatRequestId(_requestNumber);

    /// <summary>The verified caller; null when the engine accepts any credentials (<see cref="Security.AuthMode.AcceptAny"/>).</summary>
    public Security.Caller? Caller
    {
        get => _caller;
        init => _caller = value;
    }

    /// <summary>
    /// The request was compiled from a PartiQL statement (src/Engine/PartiQL). Such a Query may filter on key
    /// attributes, because a WHERE clause can say more about the keys than a key condition holds.
    /// </summary>
    internal bool FromPartiQL { get; init; }

    /// <summary>
    /// Validate the request completely and stop before capacity and storage (a batch the partition router splits is
    /// validated whole first, src/Engine/Partitioning). Only the batch operations look at it.
    /// </summary>
    internal bool ValidateOnly { get; init; }

    /// <summary>
    /// The Host header the request was sent to (<c>127.0.0.1:8000</c>), and whether over HTTPS: DescribeEndpoints
    /// answers the host, and DAX cluster endpoints are reported on it.
    /// </summary>
    internal string? Host
    {
        get => _host;
        init => _host = value;
    }

    /// <summary>The request's X-Amz-Target (<c>DynamoDB_20120810.GetItem</c>): the action an AccessDeniedException names.</summary>
    internal string? Target { get; set; }

    internal bool Https
    {
        get => _https;
        init => _https = value;
    }
}
