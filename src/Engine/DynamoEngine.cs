using Serverless.Engine.Protocol;

namespace Serverless.Engine;

/// <summary>
/// One running engine: the store, the change log and the request handler over them. Hosts create one per
/// process (per simulated region in the local host), hand every request to <see cref="Handler"/>, and dispose
/// it on shutdown, which flushes and checkpoints.
/// </summary>
public sealed partial class DynamoEngine : IAsyncDisposable
{
    private DynamoEngine(EngineOptions options, TimeProvider time)
    {
        Options = options;
        Time = time;
        Security = new Security.EngineSecurity(options, time);
        Capacity = new Serverless.Engine.Capacity.CapacityGate(options.Capacity, time);
        Handler = new RequestHandler(this);
    }

    public EngineOptions Options { get; }

    public TimeProvider Time { get; }

    public RequestHandler Handler { get; }

    /// <summary>Authentication and authorization of every request.</summary>
    public Security.EngineSecurity Security { get; }

    /// <summary>Capacity admission (throttling) of every data-plane request.</summary>
    public Serverless.Engine.Capacity.CapacityGate Capacity { get; }
}
