using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Storage;

namespace Serverless.Engine.AutoScaling;

/// <summary>
/// PutScalingPolicy, DescribeScalingPolicies and DeleteScalingPolicy: target tracking policies on the predefined
/// DynamoDB utilization metrics (the only policy type Application Auto Scaling offers for DynamoDB).
/// </summary>
internal static class ScalingPolicies
{
    public const string ReadMetric = "DynamoDBReadCapacityUtilization";
    public const string WriteMetric = "DynamoDBWriteCapacityUtilization";

    private const string TargetTracking = "TargetTrackingScaling";
    private const string PolicyTypes = "StepScaling, TargetTrackingScaling, PredictiveScaling";

    /// <summary>The four alarms Application Auto Scaling creates for a DynamoDB target tracking policy, in order.</summary>
    private static readonly string[] AlarmKinds = ["AlarmHigh", "AlarmLow", "ProvisionedCapacityHigh", "ProvisionedCapacityLow"];

    public static async ValueTask PutAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = AutoScalingRequest.String(req, "PolicyName");
        var type = AutoScalingRequest.String(req, "PolicyType");
        var config = AutoScalingRequest.Object(req, "TargetTrackingScalingPolicyConfiguration");
        var failures = new List<string>();
        if (name == null) failures.Add(AutoScalingErrors.NullFailure("policyName"));
        if (type != null && Array.IndexOf(PolicyTypes.Split(", "), type) < 0) failures.Add(AutoScalingErrors.EnumFailure("policyType", type, PolicyTypes));
        if (failures.Count > 0) throw AutoScalingErrors.Constraints(failures);
        var resource = ScalableResource.Read(req);

        // DynamoDB supports target tracking only; step scaling is the API's default type.
        type ??= "StepScaling";
        if (type != TargetTracking) throw AutoScalingErrors.PolicyTypeNotSupported(type);
        if (config is not { } c) throw AutoScalingErrors.ConfigurationRequired();
        var target = AutoScalingRequest.Double(c, "TargetValue");
        if (target == null) throw AutoScalingErrors.Constraints([AutoScalingErrors.NullFailure("targetTrackingScalingPolicyConfiguration.targetValue")]);
        var metric = AutoScalingRequest.Object(c, "PredefinedMetricSpecification") is { } m ? AutoScalingRequest.String(m, "PredefinedMetricType") : null;
        var label = AutoScalingRequest.Object(c, "PredefinedMetricSpecification") is { } m2 ? AutoScalingRequest.String(m2, "ResourceLabel") : null;
        if (metric == null) throw AutoScalingErrors.MetricRequired();
        if (metric != (resource.IsRead ? ReadMetric : WriteMetric)) throw AutoScalingErrors.MetricDoesNotMatch(metric, resource.Dimension);
        if (target is < 20 or > 90 || double.IsNaN(target.Value)) throw AutoScalingErrors.TargetValueOutOfRange(target.Value);
        var scaleOut = AutoScalingRequest.Long(c, "ScaleOutCooldown");
        var scaleIn = AutoScalingRequest.Long(c, "ScaleInCooldown");
        if (scaleOut is < 0) failures.Add(AutoScalingErrors.MinimumFailure("targetTrackingScalingPolicyConfiguration.scaleOutCooldown", scaleOut.Value, 0));
        if (scaleIn is < 0) failures.Add(AutoScalingErrors.MinimumFailure("targetTrackingScalingPolicyConfiguration.scaleInCooldown", scaleIn.Value, 0));
        if (failures.Count > 0) throw AutoScalingErrors.Constraints(failures);
        var disableScaleIn = AutoScalingRequest.Bool(c, "DisableScaleIn");

        var table = ctx.Engine.Database.FindTable(resource.Table);
        if (table?.Definition.AutoScaling?.Find(resource.Dimension, resource.Index) == null)
            throw AutoScalingErrors.TargetNotRegistered(resource.Namespace, resource.ResourceId, resource.Dimension);
        var now = ctx.Engine.NowSeconds();
        var id = Guid.NewGuid().ToString();
        ScalingPolicyDefinition? stored = null;
        await ctx.Engine.Database.UpdateTableAsync(table, d =>
        {
            var t = d.AutoScaling?.Find(resource.Dimension, resource.Index)
                ?? throw AutoScalingErrors.TargetNotRegistered(resource.Namespace, resource.ResourceId, resource.Dimension);
            var previous = t.Policies.Find(p => p.Name == name);

            // Replacing a policy keeps its ARN and alarms, as on AWS.
            stored = new ScalingPolicyDefinition
            {
                Name = name!, MetricType = metric, ResourceLabel = label, TargetValue = target.Value,
                ScaleOutCooldown = (int?)scaleOut, ScaleInCooldown = (int?)scaleIn, DisableScaleIn = disableScaleIn,
                Arn = previous?.Arn ?? $"arn:aws:autoscaling:{ctx.Region}:{ctx.Engine.Options.AccountId}:scalingPolicy:{id}:resource/{resource.Namespace}/{resource.ResourceId}:policyName/{name}",
                CreatedAt = previous?.CreatedAt ?? now,
                AlarmIds = previous?.AlarmIds ?? [.. AlarmKinds.Select(_ => Guid.NewGuid().ToString())],
            };
            t.Policies.RemoveAll(p => p.Name == name);
            t.Policies.Add(stored);
        }).ConfigureAwait(false);

        w.WriteStartObject();
        w.WriteString("PolicyARN"u8, stored!.Arn);
        WriteAlarms(w, ctx.Region, ctx.Engine.Options.AccountId, resource.ResourceId, stored);
        w.WriteEndObject();
    }

    public static ValueTask DescribeAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var names = AutoScalingRequest.StringList(req, "PolicyNames");
        var resourceId = AutoScalingRequest.String(req, "ResourceId");
        var dimension = AutoScalingRequest.String(req, "ScalableDimension");
        AutoScalingRequest.WritePage(req, w, "ScalingPolicies"u8, () =>
        {
            var found = new List<(string ResourceId, ScalableTargetDefinition Target, ScalingPolicyDefinition Policy)>();
            foreach (var table in ScalableTargets.SortedTables(ctx.Engine))
            {
                foreach (var t in table.Definition.AutoScaling?.Targets ?? [])
                {
                    var id = ScalableResource.ResourceIdOf(table.Definition.Name, t.Index);
                    if ((resourceId != null && id != resourceId) || (dimension != null && t.Dimension != dimension)) continue;
                    foreach (var p in t.Policies)
                        if (names is not { Count: > 0 } || names.Contains(p.Name)) found.Add((id, t, p));
                }
            }

            return found;
        }, (writer, x) => WritePolicy(writer, ctx, x.ResourceId, x.Target, x.Policy));
        return ValueTask.CompletedTask;
    }

    private static void WritePolicy(Utf8JsonWriter w, OperationContext ctx, string id, ScalableTargetDefinition t, ScalingPolicyDefinition p)
    {
        w.WriteStartObject();
        w.WriteString("PolicyARN"u8, p.Arn);
        w.WriteString("PolicyName"u8, p.Name);
        w.WriteString("ServiceNamespace"u8, ScalableResource.DynamoDb);
        w.WriteString("ResourceId"u8, id);
        w.WriteString("ScalableDimension"u8, t.Dimension);
        w.WriteString("PolicyType"u8, TargetTracking);
        w.WriteStartObject("TargetTrackingScalingPolicyConfiguration"u8);
        w.WriteNumber("TargetValue"u8, p.TargetValue);
        w.WriteStartObject("PredefinedMetricSpecification"u8);
        w.WriteString("PredefinedMetricType"u8, p.MetricType);
        if (p.ResourceLabel != null) w.WriteString("ResourceLabel"u8, p.ResourceLabel);
        w.WriteEndObject();
        if (p.ScaleOutCooldown is { } so) w.WriteNumber("ScaleOutCooldown"u8, so);
        if (p.ScaleInCooldown is { } si) w.WriteNumber("ScaleInCooldown"u8, si);
        if (p.DisableScaleIn is { } ds) w.WriteBoolean("DisableScaleIn"u8, ds);
        w.WriteEndObject();
        WriteAlarms(w, ctx.Region, ctx.Engine.Options.AccountId, id, p);
        w.WriteNumber("CreationTime"u8, p.CreatedAt);
        w.WriteEndObject();
    }

    public static async ValueTask DeleteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = AutoScalingRequest.String(req, "PolicyName");
        if (name == null) throw AutoScalingErrors.Constraints([AutoScalingErrors.NullFailure("policyName")]);
        var resource = ScalableResource.Read(req);
        var table = ctx.Engine.Database.FindTable(resource.Table);
        if (table?.Definition.AutoScaling?.Find(resource.Dimension, resource.Index) is not { } target || target.Policies.All(p => p.Name != name))
            throw AutoScalingErrors.PolicyNotFound(resource.Namespace, resource.ResourceId, resource.Dimension, name);
        await ctx.Engine.Database.UpdateTableAsync(table, d => d.AutoScaling?.Find(resource.Dimension, resource.Index)?.Policies.RemoveAll(p => p.Name == name))
            .ConfigureAwait(false);
        w.WriteStartObject();
        w.WriteEndObject();
    }

    /// <summary>The alarm that triggers scale-out (<c>AlarmHigh</c>) or scale-in (<c>AlarmLow</c>) for a policy.</summary>
    public static string AlarmName(string resourceId, ScalingPolicyDefinition policy, bool high) =>
        $"TargetTracking-{resourceId}-{(high ? AlarmKinds[0] : AlarmKinds[1])}-{policy.AlarmIds[high ? 0 : 1]}";

    private static void WriteAlarms(Utf8JsonWriter w, string region, string account, string resourceId, ScalingPolicyDefinition policy)
    {
        w.WriteStartArray("Alarms"u8);
        for (var i = 0; i < AlarmKinds.Length && i < policy.AlarmIds.Count; i++)
        {
            var alarm = $"TargetTracking-{resourceId}-{AlarmKinds[i]}-{policy.AlarmIds[i]}";
            w.WriteStartObject();
            w.WriteString("AlarmName"u8, alarm);
            w.WriteString("AlarmARN"u8, $"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm}");
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
