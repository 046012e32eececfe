using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.PartiQL;

/// <summary>
/// Runs the JSON API requests a statement compiled to, through the same handlers the dispatch table uses, and
/// reads their answers back. This is the only bridge between PartiQL and the item operations.
/// </summary>
internal static class PqRunner
{
    /// <summary>
    /// For the documents PartiQL builds and reads back: they wrap request values (up to the request parser's depth)
    /// and items (32 levels of L/M, 2 JSON levels each) in a few levels more, past JsonDocument's default of 64.
    /// </summary>
    internal static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 512 };

    /// <summary>Writes a request with <paramref name="write"/>, runs it through <paramref name="handler"/> and parses the response.</summary>
    public static async ValueTask<JsonDocument> RunAsync(OperationContext ctx, OperationHandler handler, Action<Utf8JsonWriter> write)
    {
        var requestBuffer = new ArrayBufferWriter<byte>(512);
        using (var rw = new Utf8JsonWriter(requestBuffer)) write(rw);
        using var request = JsonDocument.Parse(requestBuffer.WrittenMemory, DocumentOptions);
        var responseBuffer = new ArrayBufferWriter<byte>(1024);
        var inner = new OperationContext(ctx.Engine, ctx.Region, ctx.RequestId) { Caller = ctx.Caller, FromPartiQL = true };
        if (ctx.Engine.Partitions is { } partitions) handler = partitions.Bind(handler);
        using (var w = new Utf8JsonWriter(responseBuffer))
        {
            await handler(inner, request.RootElement, w).ConfigureAwait(false);
        }

        return JsonDocument.Parse(responseBuffer.WrittenMemory, DocumentOptions);
    }

    /// <summary>The CapacityUnits of a response's ConsumedCapacity (an object, or a list of them), 0 when absent.</summary>
    public static double CapacityUnits(JsonElement response)
    {
        if (!response.TryGetProperty("ConsumedCapacity"u8, out var cc)) return 0;
        if (cc.ValueKind == JsonValueKind.Object) return cc.TryGetProperty("CapacityUnits"u8, out var u) ? u.GetDouble() : 0;
        double total = 0;
        foreach (var e in cc.EnumerateArray())
            if (e.TryGetProperty("CapacityUnits"u8, out var u)) total += u.GetDouble();
        return total;
    }

    /// <summary>
    /// Writes an item as a SELECT returns it: whole, or for a projection with nested paths, each path's value under the
    /// last name of the path (<c>SELECT a.b</c> gives <c>{"b": ...}</c>, as AWS does).
    /// </summary>
    public static void WriteItem(Utf8JsonWriter w, JsonElement item, IReadOnlyList<PqPath>? nested)
    {
        if (nested == null)
        {
            item.WriteTo(w);
            return;
        }

        w.WriteStartObject();
        foreach (var path in nested)
        {
            if (Resolve(item, path) is not { } value) continue;
            string? name = null;
            foreach (var step in path.Steps)
                if (step.Name != null) name = step.Name;
            w.WritePropertyName(name!);
            value.WriteTo(w);
        }

        w.WriteEndObject();
    }

    private static JsonElement? Resolve(JsonElement item, PqPath path)
    {
        JsonElement? current = null;
        foreach (var step in path.Steps)
        {
            if (current == null)
            {
                if (!item.TryGetProperty(step.Name!, out var top)) return null;
                current = top;
                continue;
            }

            var value = current.Value;
            if (step.Name != null)
            {
                if (!value.TryGetProperty("M"u8, out var map) || !map.TryGetProperty(step.Name, out var member)) return null;
                current = member;
            }
            else
            {
                if (!value.TryGetProperty("L"u8, out var list) || step.Index >= list.GetArrayLength()) return null;
                current = list[step.Index];
            }
        }

        return current;
    }

    /// <summary>The short error code a BatchExecuteStatement response carries for an exception type.</summary>
    public static string BatchErrorCode(DynamoException e) => e.ErrorType switch
    {
        "ConditionalCheckFailedException" => "ConditionalCheckFailed",
        "DuplicateItemException" => "DuplicateItem",
        "ValidationException" => "ValidationError",
        "ResourceNotFoundException" => "ResourceNotFound",
        "ItemCollectionSizeLimitExceededException" => "ItemCollectionSizeLimitExceeded",
        "ProvisionedThroughputExceededException" => "ProvisionedThroughputExceeded",
        "TransactionConflictException" => "TransactionConflict",
        "RequestLimitExceeded" => "RequestLimitExceeded",
        "ThrottlingException" => "ThrottlingError",
        "AccessDeniedException" => "AccessDenied",
        "InternalServerError" => "InternalServerError",
        _ => e.ErrorType,
    };
}
