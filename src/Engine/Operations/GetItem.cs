using System.Text.Json;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>GetItem: one item by key. Without a projection the stored bytes are written as JSON directly.</summary>
internal static class GetItem
{
    private static readonly string[] LegacyNames = ["AttributesToGet"];
    private static readonly string[] ExpressionNames = ["ProjectionExpression"];

    [ThreadStatic]
    private static PooledBufferWriter? t_buffer;

    [System.Runtime.CompilerServices.SkipLocalsInit]
    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var tableName = Req.TableName(req);
        var keyJson = Req.Map(req, "Key"u8);
        var consistent = Req.Bool(req, "ConsistentRead"u8) ?? false;
        var errors = ConstraintErrors.ForThread();
        var returnCapacity = Req.String(req, "ReturnConsumedCapacity"u8);
        // In the order AWS lists them.
        errors.Enum("returnConsumedCapacity", returnCapacity, "INDEXES, TOTAL, NONE", "INDEXES", "TOTAL", "NONE");
        var attributesToGet = Req.StringList(req, "AttributesToGet"u8);
        if (attributesToGet is { Count: 0 }) errors.Add("attributesToGet", "[]", "Member must have length greater than or equal to 1");
        errors.Name("tableName", tableName, allowArn: true);
        if (keyJson is null) errors.NotNull("key", null);
        errors.ThrowIfAny();

        ItemRequest.CheckExpressionMix(req, LegacyNames, ExpressionNames, "ProjectionExpression is null");
        var attributes = ItemRequest.ReadExpressionAttributes(req);
        ProjectionExpression? projection = null;
        if (Req.String(req, "ProjectionExpression"u8) is { } text) projection = ExpressionParser.ParseProjection(text, attributes);
        else if (attributesToGet != null)
        {
            var duplicate = attributesToGet.GroupBy(a => a, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate != null) throw DynamoErrors.Validation($"One or more parameter values were invalid: Duplicate value in attribute name: {duplicate.Key}");
            projection = LegacyParameters.FromAttributesToGet(attributesToGet);
        }

        attributes.ThrowIfUnused();

        var table = Tables.RequireForDataPlane(ctx, tableName!);
        var definition = table.Definition;
        Span<byte> scratch = stackalloc byte[256];
        scoped ReadOnlySpan<byte> key;
        if (ItemRequest.TryEncodeStringKey(keyJson!.Value, definition, scratch, out var written)) key = scratch[..written];
        else
        {
            var (hash, range) = ItemRequest.ReadKey(keyJson.Value, definition);
            key = ItemRequest.EncodeKey(definition.TableNumber, hash, range, scratch);
        }

        var admission = Capacity.AdmitRead(ctx, table, null, key, Capacity.ReadUnits(0, consistent));

        var buffer = t_buffer ??= new PooledBufferWriter(4096);
        buffer.Clear();
        var read = ctx.Engine.Database.TryReadAsync(key, buffer);
        if (!read.IsCompletedSuccessfully)
        {
            // The item is on disk: the read completes later, on whichever thread, into this buffer, which is the
            // request's from now on (the thread takes a new one).
            t_buffer = null;
            return RespondLaterAsync(read, buffer, w, projection, attributes, returnCapacity, ctx, admission, table, consistent);
        }

        Respond(read.Result, buffer, w, projection, attributes, returnCapacity, ctx, admission, table, consistent);
        return ValueTask.CompletedTask;
    }

    private static async ValueTask RespondLaterAsync(
        ValueTask<bool> read, PooledBufferWriter buffer, Utf8JsonWriter w, ProjectionExpression? projection, ExpressionAttributes attributes,
        string? returnCapacity, OperationContext ctx, Serverless.Engine.Capacity.Admission admission, TableState table, bool consistent)
    {
        var found = await read.ConfigureAwait(false);
        Respond(found, buffer, w, projection, attributes, returnCapacity, ctx, admission, table, consistent);
    }

    private static void Respond(
        bool found, PooledBufferWriter buffer, Utf8JsonWriter w, ProjectionExpression? projection, ExpressionAttributes attributes,
        string? returnCapacity, OperationContext ctx, Serverless.Engine.Capacity.Admission admission, TableState table, bool consistent)
    {
        w.WriteStartObject();
        var size = 0;
        if (found)
        {
            var stored = buffer.WrittenSpan;
            size = StoredValue.ItemSize(stored);
            w.WritePropertyName("Item"u8);
            if (projection == null)
            {
                ItemCodec.WriteJson(StoredValue.Item(stored), w);
            }
            else
            {
                AttrJson.WriteItem(w, projection.Apply(ItemCodec.Decode(StoredValue.Item(stored)), attributes));
            }
        }

        Capacity.Write(w, returnCapacity, ctx, admission, table, Capacity.ReadUnits(size, consistent), isRead: true);
        w.WriteEndObject();
    }
}
