using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Cache;

/// <summary>
/// Builds the answers a cache hit sends: the operation's own answer as it was on the miss, with its
/// ConsumedCapacity (when the request asked for it) at zero, because a hit reads nothing from the table. Runs only
/// on misses and write-through, never on a hit.
/// </summary>
internal static class CachedResponses
{
    private static readonly JsonWriterOptions Options = new() { SkipValidation = true };

    public static CapacityMode ModeOf(JsonElement request) =>
        request.TryGetProperty("ReturnConsumedCapacity"u8, out var v) && v.ValueKind == JsonValueKind.String
            ? v.ValueEquals("TOTAL"u8) ? CapacityMode.Total : v.ValueEquals("INDEXES"u8) ? CapacityMode.Indexes : CapacityMode.None
            : CapacityMode.None;

    /// <summary>
    /// The answer of a hit on the request that got <paramref name="missAnswer"/>: every member but ConsumedCapacity
    /// copied as is, then ConsumedCapacity at zero for <paramref name="tables"/> (a list for BatchGetItem).
    /// </summary>
    public static byte[] HitAnswer(ReadOnlySpan<byte> missAnswer, CapacityMode mode, string[] tables, bool list)
    {
        using var buffer = new PooledBufferWriter(missAnswer.Length + 128);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            var reader = new Utf8JsonReader(missAnswer);
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var skip = reader.ValueTextEquals("ConsumedCapacity"u8);
                var name = reader.ValueSpan;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (skip) continue;
                w.WritePropertyName(name);
                w.WriteRawValue(missAnswer[start..(int)reader.BytesConsumed], skipInputValidation: true);
            }

            WriteZeroCapacity(w, mode, tables, list);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A GetItem answer rendered from a stored value (null: the item does not exist).</summary>
    public static byte[] Item(byte[]? stored, CapacityMode mode, string tableName)
    {
        using var buffer = new PooledBufferWriter(stored?.Length * 2 + 128 ?? 128);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            if (stored != null)
            {
                w.WritePropertyName("Item"u8);
                ItemCodec.WriteJson(StoredValue.Item(stored), w);
            }

            WriteZeroCapacity(w, mode, [tableName], list: false);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteZeroCapacity(Utf8JsonWriter w, CapacityMode mode, string[] tables, bool list)
    {
        if (mode == CapacityMode.None) return;
        var text = mode == CapacityMode.Total ? "TOTAL" : "INDEXES";
        if (!list)
        {
            Operations.Capacity.Write(w, text, tables[0], 0, isRead: true);
            return;
        }

        w.WriteStartArray("ConsumedCapacity"u8);
        foreach (var table in tables) Operations.Capacity.WriteEntry(w, text, table, 0, isRead: true);
        w.WriteEndArray();
    }
}
