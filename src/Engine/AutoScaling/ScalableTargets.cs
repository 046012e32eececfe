using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Storage;

namespace Serverless.Engine.AutoScaling;

/// <summary>RegisterScalableTarget, DescribeScalableTargets and DeregisterScalableTarget for DynamoDB tables and global indexes.</summary>
internal static class ScalableTargets
{
    public static async ValueTask RegisterAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var resource = ScalableResource.Read(req);
        var min = AutoScalingRequest.Long(req, "MinCapacity");
        var max = AutoScalingRequest.Long(req, "MaxCapacity");
        var role = AutoScalingRequest.String(req, "RoleARN");
        var suspended = AutoScalingRequest.Object(req, "SuspendedState");
        var failures = new List<string>();
        if (min is < 0) failures.Add(AutoScalingErrors.MinimumFailure("minCapacity", min.Value, 0));
        if (max is < 0) failures.Add(AutoScalingErrors.MinimumFailure("maxCapacity", max.Value, 0));
        if (failures.Count > 0) throw AutoScalingErrors.Constraints(failures);
        var table = resource.RequireTable(ctx.Engine);
        if (table.Definition.BillingMode == BillingModes.PayPerRequest) throw AutoScalingErrors.OnDemandTable(resource.ResourceId);

        var existing = table.Definition.AutoScaling?.Find(resource.Dimension, resource.Index);
        if (existing == null && (min == null || max == null)) throw AutoScalingErrors.CapacityRequired();
        var newMin = min ?? existing!.MinCapacity;
        var newMax = max ?? existing!.MaxCapacity;
        if (newMin > newMax) throw AutoScalingErrors.MinAboveMax(newMin, newMax);

        var now = ctx.Engine.NowSeconds();
        var arn = existing?.Arn ?? $"arn:aws:application-autoscaling:{ctx.Region}:{ctx.Engine.Options.AccountId}:scalable-target/{NewTargetId()}";
        await ctx.Engine.Database.UpdateTableAsync(table, d =>
        {
            var state = d.AutoScaling ??= new AutoScalingDefinition();
            var target = state.Find(resource.Dimension, resource.Index);
            if (target == null)
            {
                target = new ScalableTargetDefinition { Dimension = resource.Dimension, Index = resource.Index, Arn = arn, CreatedAt = now };
                state.Targets.Add(target);
            }

            arn = target.Arn;
            target.MinCapacity = newMin;
            target.MaxCapacity = newMax;
            if (role != null) target.RoleArn = role;
            if (suspended is { } s)
            {
                if (AutoScalingRequest.Bool(s, "DynamicScalingInSuspended") is { } scaleIn) target.ScaleInSuspended = scaleIn;
                if (AutoScalingRequest.Bool(s, "DynamicScalingOutSuspended") is { } scaleOut) target.ScaleOutSuspended = scaleOut;
                if (AutoScalingRequest.Bool(s, "ScheduledScalingSuspended") is { } scheduled) target.ScheduledSuspended = scheduled;
            }
        }).ConfigureAwait(false);

        // As on AWS, a capacity outside the new range is brought inside it at once.
        var current = ScalableResource.CurrentCapacity(table.Definition, resource.Index, resource.IsRead);
        if (current < newMin) await ctx.Engine.AutoScaler.ApplyAsync(table, resource.Dimension, resource.Index, newMin, $"minimum capacity was set to {newMin}", ScalingDirection.Bounds).ConfigureAwait(false);
        else if (current > newMax) await ctx.Engine.AutoScaler.ApplyAsync(table, resource.Dimension, resource.Index, newMax, $"maximum capacity was set to {newMax}", ScalingDirection.Bounds).ConfigureAwait(false);
        ctx.Engine.AutoScaler.Baseline(table);

        w.WriteStartObject();
        w.WriteString("ScalableTargetARN"u8, arn);
        w.WriteEndObject();
    }

    public static ValueTask DescribeAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var ids = AutoScalingRequest.StringList(req, "ResourceIds");
        var dimension = AutoScalingRequest.String(req, "ScalableDimension");
        AutoScalingRequest.WritePage(req, w, "ScalableTargets"u8, () =>
        {
            var found = new List<(TableDefinition Table, ScalableTargetDefinition Target)>();
            foreach (var table in SortedTables(ctx.Engine))
            {
                var d = table.Definition;
                foreach (var t in d.AutoScaling?.Targets ?? [])
                    if ((dimension == null || t.Dimension == dimension) && (ids is not { Count: > 0 } || ids.Contains(ScalableResource.ResourceIdOf(d.Name, t.Index))))
                        found.Add((d, t));
            }

            return found;
        }, (writer, x) => WriteTarget(writer, ctx, x.Table, x.Target));
        return ValueTask.CompletedTask;
    }

    public static async ValueTask DeregisterAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var resource = ScalableResource.Read(req);
        var table = ctx.Engine.Database.FindTable(resource.Table);
        if (table?.Definition.AutoScaling?.Find(resource.Dimension, resource.Index) == null)
            throw AutoScalingErrors.TargetNotFound(resource.Namespace, resource.ResourceId, resource.Dimension);
        await ctx.Engine.Database.UpdateTableAsync(table, d =>
        {
            // Its policies go with it, as on AWS.
            var state = d.AutoScaling;
            state?.Targets.RemoveAll(t => t.Dimension == resource.Dimension && t.Index == resource.Index);
            if (state is { Targets.Count: 0, Activities.Count: 0 }) d.AutoScaling = null;
        }).ConfigureAwait(false);
        w.WriteStartObject();
        w.WriteEndObject();
    }

    /// <summary>The tables by name, so every Describe pages in a stable order.</summary>
    public static List<TableState> SortedTables(DynamoEngine engine)
    {
        var tables = new List<TableState>(engine.Database.Tables);
        tables.Sort((a, b) => string.CompareOrdinal(a.Definition.Name, b.Definition.Name));
        return tables;
    }

    private static void WriteTarget(Utf8JsonWriter w, OperationContext ctx, TableDefinition table, ScalableTargetDefinition t)
    {
        w.WriteStartObject();
        w.WriteString("ServiceNamespace"u8, ScalableResource.DynamoDb);
        w.WriteString("ResourceId"u8, ScalableResource.ResourceIdOf(table.Name, t.Index));
        w.WriteString("ScalableDimension"u8, t.Dimension);
        w.WriteNumber("MinCapacity"u8, t.MinCapacity);
        w.WriteNumber("MaxCapacity"u8, t.MaxCapacity);
        w.WriteString("RoleARN"u8, t.RoleArn ?? DefaultRole(ctx.Engine.Options.AccountId));
        w.WriteNumber("CreationTime"u8, t.CreatedAt);
        w.WriteStartObject("SuspendedState"u8);
        w.WriteBoolean("DynamicScalingInSuspended"u8, t.ScaleInSuspended);
        w.WriteBoolean("DynamicScalingOutSuspended"u8, t.ScaleOutSuspended);
        w.WriteBoolean("ScheduledScalingSuspended"u8, t.ScheduledSuspended);
        w.WriteEndObject();
        w.WriteString("ScalableTargetARN"u8, t.Arn);
        w.WriteEndObject();
    }

    /// <summary>The service-linked role Application Auto Scaling uses for DynamoDB when none is given.</summary>
    private static string DefaultRole(string account) =>
        $"arn:aws:iam::{account}:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable";

    /// <summary>AWS's scalable target ids are 36 lowercase hex digits.</summary>
    private static string NewTargetId() => Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N")[..4];
}
