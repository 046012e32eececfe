using System.Text.Json.Serialization;

namespace Serverless.Engine.AutoScaling;

/// <summary>
/// A table's Application Auto Scaling state as persisted in the catalog (<see cref="Storage.TableDefinition.AutoScaling"/>):
/// its scalable targets with their policies, and its recent scaling activities. It travels with the table's
/// definition (catalog change records and the checkpoint manifest, so blob mode too). A golden test guards the names.
/// </summary>
public sealed class AutoScalingDefinition
{
    /// <summary>How many activities a table keeps (newest first); AWS keeps six weeks of them.</summary>
    public const int MaxActivities = 100;

    public List<ScalableTargetDefinition> Targets { get; set; } = [];

    /// <summary>Newest first.</summary>
    public List<ScalingActivityDefinition> Activities { get; set; } = [];

    public AutoScalingDefinition Clone() => new()
    {
        Targets = Targets.ConvertAll(t => t.Clone()),
        Activities = [.. Activities],
    };

    public ScalableTargetDefinition? Find(string dimension, string? index) =>
        Targets.Find(t => t.Dimension == dimension && t.Index == index);
}

/// <summary>One registered scalable target: a table's or a global index's read or write capacity.</summary>
public sealed class ScalableTargetDefinition
{
    /// <summary>The scalable dimension, e.g. <c>dynamodb:table:WriteCapacityUnits</c>.</summary>
    public required string Dimension { get; init; }

    /// <summary>The global secondary index for <c>dynamodb:index:*</c> dimensions; null for the table.</summary>
    public string? Index { get; init; }

    public required string Arn { get; init; }

    public required double CreatedAt { get; init; }

    public long MinCapacity { get; set; }

    public long MaxCapacity { get; set; }

    public string? RoleArn { get; set; }

    public bool ScaleInSuspended { get; set; }

    public bool ScaleOutSuspended { get; set; }

    public bool ScheduledSuspended { get; set; }

    /// <summary>When the last scale-out happened (seconds since the epoch), and the capacity it set.</summary>
    public double? LastScaleOutAt { get; set; }

    public long LastScaleOutCapacity { get; set; }

    public double? LastScaleInAt { get; set; }

    public List<ScalingPolicyDefinition> Policies { get; set; } = [];

    [JsonIgnore]
    public bool IsRead => Dimension.EndsWith(":ReadCapacityUnits", StringComparison.Ordinal);

    public ScalableTargetDefinition Clone()
    {
        var copy = (ScalableTargetDefinition)MemberwiseClone();
        copy.Policies = [.. Policies];
        return copy;
    }
}

/// <summary>A target tracking scaling policy (immutable: PutScalingPolicy replaces it).</summary>
public sealed record ScalingPolicyDefinition
{
    public required string Name { get; init; }

    public required string Arn { get; init; }

    /// <summary>DynamoDBReadCapacityUtilization or DynamoDBWriteCapacityUtilization.</summary>
    public required string MetricType { get; init; }

    public string? ResourceLabel { get; init; }

    public required double TargetValue { get; init; }

    public int? ScaleOutCooldown { get; init; }

    public int? ScaleInCooldown { get; init; }

    public bool? DisableScaleIn { get; init; }

    public required double CreatedAt { get; init; }

    /// <summary>The ids in the names of the policy's four CloudWatch alarms (AlarmHigh, AlarmLow, ProvisionedCapacityHigh, ProvisionedCapacityLow).</summary>
    public required List<string> AlarmIds { get; init; }
}

/// <summary>One scaling activity, with AWS's fields.</summary>
public sealed record ScalingActivityDefinition
{
    public required string ActivityId { get; init; }

    public required string Dimension { get; init; }

    public string? Index { get; init; }

    public required string Description { get; init; }

    public required string Cause { get; init; }

    public required double StartTime { get; init; }

    public double? EndTime { get; init; }

    /// <summary>Successful or Failed.</summary>
    public required string StatusCode { get; init; }

    public string? StatusMessage { get; init; }

    public string? Details { get; init; }
}
