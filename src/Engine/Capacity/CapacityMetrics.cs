using System.Text.Json;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Capacity;

/// <summary>
/// The capacity part of <c>/admin/metrics</c> (<see cref="Database.WriteMetrics"/>): per table and per global
/// secondary index, provisioned units, throttle counts, capacity left in the buckets, and a per-minute history.
/// </summary>
public static class CapacityMetrics
{
    /// <summary>Writes the members of one table's metrics object, then its <c>GlobalSecondaryIndexes</c>.</summary>
    public static void Write(Utf8JsonWriter w, TableState table, TimeProvider time, CapacityOptions options)
    {
        var now = time.GetUtcNow().UtcTicks;
        var definition = table.Definition;
        table.Throughput.Ensure(definition, null, now, options);
        table.Throughput.WriteMetrics(w, now);
        var any = false;
        foreach (var index in table.Indexes)
        {
            if (!index.Definition.Global) continue;
            if (!any) w.WriteStartArray("GlobalSecondaryIndexes"u8);
            any = true;
            w.WriteStartObject();
            w.WriteString("IndexName"u8, index.Definition.Name);
            w.WriteNumber("ConsumedReadCapacityUnits"u8, index.Consumed.ReadUnits);
            w.WriteNumber("ConsumedWriteCapacityUnits"u8, index.Consumed.WriteUnits);
            w.WriteNumber("ItemCount"u8, index.ItemCount);
            w.WriteNumber("IndexSizeBytes"u8, index.SizeBytes);
            index.Throughput.Ensure(definition, index.Definition, now, options);
            index.Throughput.WriteMetrics(w, now);
            w.WriteEndObject();
        }

        if (any) w.WriteEndArray();
    }
}
