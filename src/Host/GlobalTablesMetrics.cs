using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Engine;
using Serverless.Replicator.GlobalTables;

namespace Serverless.Host;

/// <summary>
/// <c>GET /admin/metrics</c> with global tables: the default region's table metrics as before (<c>Tables</c>), each
/// region's under <c>Regions</c>, CloudWatch's <c>ReplicationLatency</c> per table and region pair, and what the claim
/// check of large messages did (<c>ReplicationPayloads</c>).
/// </summary>
internal static class GlobalTablesMetrics
{
    public static void Write(Utf8JsonWriter writer, EngineRegions regions, GlobalTableReplicator replicator)
    {
        var root = Node(w => regions.Default.Database.WriteMetrics(w)).AsObject();
        var perRegion = new JsonObject();
        foreach (var engine in regions.All) perRegion[engine.Options.DefaultRegion] = Node(w => engine.Database.WriteMetrics(w));
        root["Regions"] = perRegion;
        root["ReplicationLatency"] = Node(replicator.Latency.Write);
        root["ReplicationPayloads"] = Node(replicator.ClaimChecks.Write);
        root.WriteTo(writer);
    }

    private static JsonNode Node(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return JsonNode.Parse(buffer.WrittenSpan)!;
    }
}
