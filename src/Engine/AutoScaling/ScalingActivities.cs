using System.Text.Json;
using Serverless.Engine.Operations;

namespace Serverless.Engine.AutoScaling;

/// <summary>DescribeScalingActivities: the activities of the namespace's targets, newest first.</summary>
internal static class ScalingActivities
{
    public static ValueTask DescribeAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var resourceId = AutoScalingRequest.String(req, "ResourceId");
        var dimension = AutoScalingRequest.String(req, "ScalableDimension");
        AutoScalingRequest.WritePage(req, w, "ScalingActivities"u8, () =>
        {
            var found = new List<(string ResourceId, ScalingActivityDefinition Activity)>();
            foreach (var table in ScalableTargets.SortedTables(ctx.Engine))
            {
                foreach (var a in table.Definition.AutoScaling?.Activities ?? [])
                {
                    var id = ScalableResource.ResourceIdOf(table.Definition.Name, a.Index);
                    if ((resourceId == null || id == resourceId) && (dimension == null || a.Dimension == dimension)) found.Add((id, a));
                }
            }

            found.Sort((x, y) => y.Activity.StartTime.CompareTo(x.Activity.StartTime));
            return found;
        }, (writer, x) => Write(writer, x.ResourceId, x.Activity));
        return ValueTask.CompletedTask;
    }

    private static void Write(Utf8JsonWriter w, string resourceId, ScalingActivityDefinition a)
    {
        w.WriteStartObject();
        w.WriteString("ActivityId"u8, a.ActivityId);
        w.WriteString("ServiceNamespace"u8, ScalableResource.DynamoDb);
        w.WriteString("ResourceId"u8, resourceId);
        w.WriteString("ScalableDimension"u8, a.Dimension);
        w.WriteString("Description"u8, a.Description);
        w.WriteString("Cause"u8, a.Cause);
        w.WriteNumber("StartTime"u8, a.StartTime);
        if (a.EndTime is { } end) w.WriteNumber("EndTime"u8, end);
        w.WriteString("StatusCode"u8, a.StatusCode);
        if (a.StatusMessage != null) w.WriteString("StatusMessage"u8, a.StatusMessage);
        if (a.Details != null) w.WriteString("Details"u8, a.Details);
        w.WriteEndObject();
    }
}
