using System.Text.Json;

namespace Serverless.Engine.Operations;

/// <summary>DescribeLimits: AWS's default account and table capacity quotas.</summary>
internal static class DescribeLimits
{
    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("AccountMaxReadCapacityUnits"u8, 80000);
        w.WriteNumber("AccountMaxWriteCapacityUnits"u8, 80000);
        w.WriteNumber("TableMaxReadCapacityUnits"u8, 40000);
        w.WriteNumber("TableMaxWriteCapacityUnits"u8, 40000);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }
}

/// <summary>DescribeEndpoints: one endpoint, the address the client called (or the region's), cached for a day.</summary>
internal static class DescribeEndpoints
{
    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("Endpoints"u8);
        w.WriteStartObject();
        // The address the client used, so that endpoint discovery keeps it there; AWS's own name otherwise.
        if (string.IsNullOrEmpty(ctx.Host)) w.WriteString("Address"u8, $"dynamodb.{ctx.Region}.amazonaws.com");
        else w.WriteString("Address"u8, ctx.Host);
        w.WriteNumber("CachePeriodInMinutes"u8, 1440);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }
}
