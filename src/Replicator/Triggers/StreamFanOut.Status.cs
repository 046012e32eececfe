using System.Text.Json;
using Serverless.Engine.Operations;

namespace Serverless.Replicator.Triggers;

/// <summary>
/// Each mapping's region, position and lag, for the console (GET /admin/triggers on the local host): where it will read
/// next, how many records of its table's stream are past that point (counted up to <see cref="StatusScanLimit"/>),
/// and the age of the oldest of them, which is how far behind the handler is (Lambda's IteratorAge).
/// </summary>
public sealed partial class StreamFanOut
{
    /// <summary>How many undelivered records a status call counts at most before it reports "at least".</summary>
    public const int StatusScanLimit = 1000;

    /// <summary>Writes one object per mapping of this region (the elements of the status's <c>Mappings</c>).</summary>
    public void WriteMappings(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        var nowSeconds = _engine.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        var pending = new List<StreamFeedRecord>();
        foreach (var state in _mappings)
        {
            var mapping = state.Mapping;
            w.WriteStartObject();
            w.WriteString("Name"u8, state.Name);
            w.WriteString("Region"u8, Region);
            w.WriteString("Table"u8, mapping.Table);
            w.WriteString("Queue"u8, mapping.Queue);
            w.WriteString("OnFailureQueue"u8, mapping.FailureQueue);
            w.WriteNumber("BatchSize"u8, mapping.BatchSize);
            w.WriteNumber("BatchingWindowSeconds"u8, mapping.BatchingWindowSeconds);
            w.WriteString("StartingPosition"u8, mapping.StartingPosition.ToString());
            if (state.Published?.Value is { } position)
            {
                w.WriteStartObject("Position"u8);
                w.WriteString("StreamLabel"u8, position.StreamLabel);
                w.WriteNumber("Lsn"u8, position.Lsn);
                w.WriteNumber("Item"u8, position.Item);
                w.WriteEndObject();

                pending.Clear();
                var at = position;
                var status = StreamFeed.Read(_engine, mapping.Table, ref at, StatusScanLimit, pending);
                if (status == StreamFeedStatus.Ok)
                {
                    w.WriteNumber("RecordsBehind"u8, pending.Count);
                    w.WriteBoolean("RecordsBehindCapped"u8, pending.Count >= StatusScanLimit);
                    if (pending.Count > 0 && CreatedAt(pending[0].Json) is { } created) w.WriteNumber("LagSeconds"u8, Math.Max(0, nowSeconds - created));
                    else w.WriteNull("LagSeconds"u8);
                }
                else
                {
                    w.WriteString("Waiting"u8, Describe(status, mapping.Table));
                }
            }
            else
            {
                w.WriteNull("Position"u8);
                if (state.Warned is { } warned) w.WriteString("Waiting"u8, Describe(warned, mapping.Table));
            }

            if (state.LastProblem is { } problem) w.WriteString("LastProblem"u8, problem);
            w.WriteEndObject();
        }
    }

    private static string Describe(StreamFeedStatus status, string table) => status == StreamFeedStatus.NoTable
        ? $"table {table} does not exist"
        : $"table {table} has no enabled stream";

    /// <summary>The record's <c>dynamodb.ApproximateCreationDateTime</c> (epoch seconds).</summary>
    private static double? CreatedAt(byte[] record)
    {
        using var document = JsonDocument.Parse(record);
        return document.RootElement.TryGetProperty("dynamodb", out var d) && d.TryGetProperty("ApproximateCreationDateTime", out var t) && t.TryGetDouble(out var v)
            ? v
            : null;
    }
}
