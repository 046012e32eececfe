using Serverless.Engine.Partitioning;

namespace Serverless.ScaleOut;

/// <summary>Reaches partition k of the store named <paramref name="store"/> through its grain (<c>"&lt;store&gt;/&lt;k&gt;"</c>).</summary>
public sealed class GrainPartitionTransport(IGrainFactory grains, string store) : IPartitionTransport
{
    public async Task<PartitionAnswer> CallAsync(int partition, PartitionRequest request, CancellationToken cancellationToken)
    {
        var grain = grains.GetGrain<IPartitionGrain>(PartitionGrain.KeyOf(store, partition));
        var reply = await grain.ExecuteAsync(PartitionMessage.From(request)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return reply.ToAnswer();
    }
}
