using System.Text.Json;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>UpdateTimeToLive and DescribeTimeToLive. Expired items are deleted by <c>Database.SweepExpiredAsync</c>.</summary>
internal static class TimeToLive
{
    public static async ValueTask UpdateAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = Req.String(req, "TableName");
        var specification = Req.Object(req, "TimeToLiveSpecification");
        var errors = new ConstraintErrors();
        errors.Name("tableName", name, allowArn: true);
        errors.NotNull("timeToLiveSpecification", specification);
        string? attribute = null;
        bool? enabled = null;
        if (specification is { } spec)
        {
            attribute = Req.String(spec, "AttributeName");
            enabled = Req.Bool(spec, "Enabled");
            errors.NotNull("timeToLiveSpecification.attributeName", attribute);
            if (attribute is { Length: 0 }) errors.Add("timeToLiveSpecification.attributeName", attribute, "Member must have length greater than or equal to 1");
            if (attribute is { Length: > 255 }) errors.Add("timeToLiveSpecification.attributeName", attribute, "Member must have length less than or equal to 255");
            errors.NotNull("timeToLiveSpecification.enabled", enabled);
        }

        errors.ThrowIfAny();
        var table = Tables.RequireForControlPlane(ctx, req);
        var current = table.Definition.TimeToLiveAttribute;
        if (enabled == true && current != null) throw DynamoErrors.Validation("TimeToLive is already enabled");
        if (enabled == false && current == null) throw DynamoErrors.Validation("TimeToLive is already disabled");
        if (enabled == false && current != attribute)
            throw DynamoErrors.Validation($"TimeToLive is active on a different AttributeName: current AttributeName is {current}");

        await ctx.Engine.Database.UpdateTableAsync(table, d => d.TimeToLiveAttribute = enabled == true ? attribute : null).ConfigureAwait(false);
        if (enabled == true) ctx.Engine.Database.StartExpiryFill(table);

        w.WriteStartObject();
        w.WriteStartObject("TimeToLiveSpecification"u8);
        w.WriteString("AttributeName"u8, attribute);
        w.WriteBoolean("Enabled"u8, enabled!.Value);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static ValueTask DescribeAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var table = Tables.RequireForControlPlane(ctx, req);
        var attribute = table.Definition.TimeToLiveAttribute;
        w.WriteStartObject();
        w.WriteStartObject("TimeToLiveDescription"u8);
        w.WriteString("TimeToLiveStatus"u8, attribute == null ? "DISABLED" : "ENABLED");
        if (attribute != null) w.WriteString("AttributeName"u8, attribute);
        w.WriteEndObject();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }
}
