namespace Serverless.Engine.Partitioning;

/// <summary>
/// The way to a partition this process does not hold (docs/scale-out.md, "Across processes"): the router hands it
/// the request as JSON bytes and gets the partition's <see cref="PartitionAnswer"/> back. src/ScaleOut implements it
/// with one Orleans grain per partition; the engine knows nothing of Orleans.
/// </summary>
public interface IPartitionTransport
{
    Task<PartitionAnswer> CallAsync(int partition, PartitionRequest request, CancellationToken cancellationToken);
}
