using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Partitioning;

/// <summary>How a call forwarded to a partition ended.</summary>
public enum PartitionCallStatus : byte
{
    /// <summary>The operation answered; <see cref="PartitionAnswer.Body"/> is its JSON response.</summary>
    Ok,

    /// <summary>The operation refused; the error's parts are in the answer and <see cref="DynamoErrors.Rebuilt"/> turns them back into the error.</summary>
    Error,

    /// <summary>The partition's table has another partition key than the one the caller hashed: refresh the catalog and route again.</summary>
    StaleRoute,
}

/// <summary>
/// A request forwarded to a partition (docs/scale-out.md, "Across processes"): the full X-Amz-Target, the region, the
/// request's JSON bytes, and the table and partition-key attribute the caller routed by (null when it routed by neither);
/// <paramref name="MoreRoutes"/> holds further (table, partition-key attribute) pairs, flattened, for a request that
/// names several tables (a batch, a transaction).
/// </summary>
public sealed record PartitionRequest(string Target, string Region, byte[] Body, string? TableName = null, string? HashKey = null, string[]? MoreRoutes = null);

/// <summary>
/// A partition's answer as plain values, so any transport can carry it: the response JSON, or a DynamoDB error's type,
/// message, status, wire flags and extra members (a JSON object whose members are written after the message).
/// </summary>
public sealed record PartitionAnswer(
    PartitionCallStatus Status,
    byte[]? Body = null,
    string? ErrorType = null,
    string? Message = null,
    int StatusCode = 0,
    bool IncludeTypePrefix = true,
    bool CapitalMessage = false,
    bool BareWireType = false,
    byte[]? ExtraMembers = null);

/// <summary>
/// The partition side of a forwarded call: runs one request on a partition's own engine (authentication and
/// authorization were done by the host that received it) and returns its answer as bytes or error parts.
/// </summary>
public static class PartitionCall
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 512 };
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    /// <summary>
    /// The target of the gateway's catalog call (not a DynamoDB operation): answered with a JSON array of the
    /// partition's table definitions (the catalog records' format), the one named by <see cref="PartitionRequest.TableName"/>
    /// (an empty array when there is none), or every one when it is null. Hosts fill their routing catalog from it.
    /// </summary>
    public const string CatalogTarget = "Partition.TableDefinitions";

    /// <summary>Runs <paramref name="request"/> on <paramref name="engine"/> (one partition's engine, without a router).</summary>
    public static async Task<PartitionAnswer> ExecuteAsync(DynamoEngine engine, PartitionRequest request)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Target == CatalogTarget) return Definitions(engine, request.TableName);
        if (IsStale(engine, request.TableName, request.HashKey)) return new PartitionAnswer(PartitionCallStatus.StaleRoute);
        if (request.MoreRoutes is { } more)
        {
            for (var i = 0; i + 1 < more.Length; i += 2)
                if (IsStale(engine, more[i], more[i + 1])) return new PartitionAnswer(PartitionCallStatus.StaleRoute);
        }

        // Forwarded requests come from a host's router, which hands over only DynamoDB operations it parsed.
        var handler = OperationTable.Find(request.Target) ?? throw new ArgumentException($"'{request.Target}' is not an operation.", nameof(request));
        var output = new ArrayBufferWriter<byte>(512);
        try
        {
            using var document = JsonDocument.Parse(request.Body, DocumentOptions);
            var context = new OperationContext(engine, request.Region, "") { Target = request.Target };
            await using (var w = new Utf8JsonWriter(output, WriterOptions))
            {
                await handler(context, document.RootElement, w).ConfigureAwait(false);
            }

            return new PartitionAnswer(PartitionCallStatus.Ok, output.WrittenSpan.ToArray());
        }
        catch (Exception ex) when (DynamoErrors.Of(ex) is { } e)
        {
            return ErrorAnswer(e);
        }
    }

    /// <summary>Whether the partition's table <paramref name="table"/> has another partition key than <paramref name="hashKey"/>.</summary>
    private static bool IsStale(DynamoEngine engine, string? table, string? hashKey) =>
        table != null && hashKey != null && engine.Database.FindTable(table)?.Definition is { } definition && definition.HashKey.Name != hashKey;

    private static PartitionAnswer Definitions(DynamoEngine engine, string? table)
    {
        var output = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartArray();
            if (table == null)
            {
                foreach (var state in engine.Database.Catalog.All) JsonSerializer.Serialize(w, state.Definition, Storage.StorageJsonContext.Default.TableDefinition);
            }
            else if (engine.Database.FindTable(table) is { } state)
            {
                JsonSerializer.Serialize(w, state.Definition, Storage.StorageJsonContext.Default.TableDefinition);
            }

            w.WriteEndArray();
        }

        return new PartitionAnswer(PartitionCallStatus.Ok, output.WrittenSpan.ToArray());
    }

    /// <summary>The parts of <paramref name="e"/>, its extra members written into one JSON object.</summary>
    public static PartitionAnswer ErrorAnswer(DynamoException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        byte[]? extra = null;
        if (e.WriteExtraMembers is { } writeExtra)
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var w = new Utf8JsonWriter(buffer, WriterOptions))
            {
                w.WriteStartObject();
                writeExtra(w);
                w.WriteEndObject();
            }

            extra = buffer.WrittenSpan.ToArray();
        }

        return new PartitionAnswer(PartitionCallStatus.Error, null, e.ErrorType, e.Message, e.StatusCode, e.IncludeTypePrefix, e.CapitalMessage, e.BareWireType, extra);
    }
}
