using Serverless.Engine.Protocol;

namespace Serverless.Engine.AutoScaling;

/// <summary>
/// Every error of the Application Auto Scaling API served here. Its <c>__type</c> is the bare error name
/// (<c>ValidationException</c>, <c>ObjectNotFoundException</c>), as Application Auto Scaling sends it.
/// </summary>
internal static class AutoScalingErrors
{
    public const string ValidationType = "ValidationException";
    public const string ObjectNotFoundType = "ObjectNotFoundException";

    public static DynamoException Validation(string message) => new(ValidationType, message) { BareWireType = true, CapitalMessage = true };

    /// <summary>The constraint failures of one request, joined as AWS's validator does.</summary>
    public static DynamoException Constraints(IReadOnlyList<string> failures) => Validation(
        failures.Count == 1 ? "1 validation error detected: " + failures[0] : $"{failures.Count} validation errors detected: " + string.Join("; ", failures));

    public static string EnumFailure(string member, string value, string allowed) =>
        $"Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{allowed}]";

    public static string NullFailure(string member) => $"Value null at '{member}' failed to satisfy constraint: Member must not be null";

    public static string MinimumFailure(string member, long value, long minimum) =>
        $"Value '{value}' at '{member}' failed to satisfy constraint: Member must have value greater than or equal to {minimum}";

    public static DynamoException UnsupportedResource() => Validation("Unsupported service namespace, resource type or scalable dimension");

    public static DynamoException ResourceMissing(string resourceId) => Validation($"DynamoDB resource {resourceId} does not exist");

    public static DynamoException OnDemandTable(string resourceId) =>
        Validation($"Scalable target for {resourceId} cannot be registered because the table uses on-demand capacity mode (PAY_PER_REQUEST)");

    public static DynamoException CapacityRequired() => Validation("MinCapacity and MaxCapacity are required for registering a new scalable target");

    public static DynamoException MinAboveMax(long min, long max) =>
        Validation($"Minimum capacity {min} cannot be greater than maximum capacity {max}");

    public static DynamoException TargetNotRegistered(string ns, string resourceId, string dimension) => new(ObjectNotFoundType,
        $"No scalable target registered for service namespace: {ns}, resource ID: {resourceId}, scalable dimension: {dimension}") { BareWireType = true, CapitalMessage = true };

    public static DynamoException TargetNotFound(string ns, string resourceId, string dimension) => new(ObjectNotFoundType,
        $"No scalable target found for service namespace: {ns}, resource ID: {resourceId}, scalable dimension: {dimension}") { BareWireType = true, CapitalMessage = true };

    public static DynamoException PolicyNotFound(string ns, string resourceId, string dimension, string name) => new(ObjectNotFoundType,
        $"No scaling policy found for service namespace: {ns}, resource ID: {resourceId}, scalable dimension: {dimension}, policy name: {name}") { BareWireType = true, CapitalMessage = true };

    public static DynamoException PolicyTypeNotSupported(string type) => Validation($"{type} policies are not supported for DynamoDB");

    public static DynamoException ConfigurationRequired() =>
        Validation("TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling");

    public static DynamoException MetricRequired() =>
        Validation("Only predefined metric specifications are supported here: PredefinedMetricSpecification is required");

    public static DynamoException MetricDoesNotMatch(string metric, string dimension) =>
        Validation($"Predefined metric type {metric} is not supported for scalable dimension {dimension}");

    public static DynamoException TargetValueOutOfRange(double value) =>
        Validation($"The target value {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} is out of range: TargetValue must be between 20.0 and 90.0 for DynamoDB");

    public static DynamoException InvalidNextToken() => Validation("Invalid NextToken");

    public static DynamoException WrongType(string member, string expected) =>
        new("SerializationException", $"{member} must be a {expected}") { BareWireType = true, CapitalMessage = true };
}
