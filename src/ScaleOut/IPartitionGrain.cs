using Serverless.Engine.Partitioning;

namespace Serverless.ScaleOut;

/// <summary>
/// One partition of a store, owned by one activation (key <c>"&lt;region&gt;/&lt;k&gt;"</c>, docs/scale-out.md): its
/// activation opens the partition's store, which takes the partition's blob lease before it serves.
/// </summary>
[Alias("Serverless.ScaleOut.IPartitionGrain")]
public interface IPartitionGrain : IGrainWithStringKey
{
    /// <summary>Runs one forwarded request on the partition.</summary>
    [Alias("Execute")]
    Task<PartitionReply> ExecuteAsync(PartitionMessage message);
}

/// <summary>The wire form of <see cref="PartitionRequest"/>.</summary>
[GenerateSerializer]
[Alias("Serverless.ScaleOut.PartitionMessage")]
public sealed record PartitionMessage(
    [property: Id(0)] string Target,
    [property: Id(1)] string Region,
    [property: Id(2)] byte[] Body,
    [property: Id(3)] string? TableName,
    [property: Id(4)] string? HashKey,
    [property: Id(5)] string[]? MoreRoutes = null)
{
    public static PartitionMessage From(PartitionRequest r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(r.Target, r.Region, r.Body, r.TableName, r.HashKey, r.MoreRoutes);
    }

    public PartitionRequest ToRequest() => new(Target, Region, Body, TableName, HashKey, MoreRoutes);
}

/// <summary>The wire form of <see cref="PartitionAnswer"/>.</summary>
[GenerateSerializer]
[Alias("Serverless.ScaleOut.PartitionReply")]
public sealed record PartitionReply(
    [property: Id(0)] PartitionCallStatus Status,
    [property: Id(1)] byte[]? Body,
    [property: Id(2)] string? ErrorType,
    [property: Id(3)] string? Message,
    [property: Id(4)] int StatusCode,
    [property: Id(5)] bool IncludeTypePrefix,
    [property: Id(6)] bool CapitalMessage,
    [property: Id(7)] bool BareWireType,
    [property: Id(8)] byte[]? ExtraMembers)
{
    public static PartitionReply From(PartitionAnswer a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return new(a.Status, a.Body, a.ErrorType, a.Message, a.StatusCode, a.IncludeTypePrefix, a.CapitalMessage, a.BareWireType, a.ExtraMembers);
    }

    public PartitionAnswer ToAnswer() => new(Status, Body, ErrorType, Message, StatusCode, IncludeTypePrefix, CapitalMessage, BareWireType, ExtraMembers);
}
