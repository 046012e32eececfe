using Serverless.Engine.Protocol;

namespace Serverless.Engine.Cache;

/// <summary>
/// Every error of the DAX API served here, built in this one place. DAX speaks JSON 1.1: its <c>__type</c> is the
/// bare fault name (<c>ClusterNotFoundFault</c>) and the text is in <c>message</c>.
/// </summary>
internal static class DaxErrors
{
    private static DynamoException Fault(string type, string message) => new(type, message) { BareWireType = true };

    public static DynamoException ClusterNotFound(string name) => Fault("ClusterNotFoundFault", $"Cluster {name} not found.");

    public static DynamoException ClusterAlreadyExists(string name) => Fault("ClusterAlreadyExistsFault", $"Cluster {name} already exists.");

    public static DynamoException ParameterGroupNotFound(string name) => Fault("ParameterGroupNotFoundFault", $"Parameter group {name} not found.");

    public static DynamoException ParameterGroupAlreadyExists(string name) => Fault("ParameterGroupAlreadyExistsFault", $"Parameter group {name} already exists.");

    public static DynamoException ParameterGroupInUse(string name) =>
        Fault("InvalidParameterGroupStateFault", $"Parameter group {name} is in use by one or more clusters.");

    public static DynamoException DefaultParameterGroup(string name) =>
        Fault("InvalidParameterGroupStateFault", $"The default parameter group {name} cannot be modified or deleted.");

    public static DynamoException InvalidParameterValue(string message) => Fault("InvalidParameterValueException", message);

    public static DynamoException InvalidParameterCombination(string message) => Fault("InvalidParameterCombinationException", message);

    public static DynamoException InvalidClusterName() => InvalidParameterValue(
        "Cluster ID specified is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.");

    public static DynamoException InvalidParameterGroupName() => InvalidParameterValue(
        "Parameter group name specified is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.");

    public static DynamoException Missing(string member) => InvalidParameterValue($"The parameter {member} must be provided.");

    public static DynamoException InvalidArn(string detail, string arn) => InvalidParameterValue($"{detail}: {arn}");

    public static DynamoException ReplicationFactor(int value) =>
        InvalidParameterValue($"ReplicationFactor {value} is out of range: it must be from 1 to 10 (3 or more for production).");

    public static DynamoException UnknownParameter(string name) => InvalidParameterValue($"Unknown parameter: {name}");

    public static DynamoException InvalidParameterValueFor(string name, string value, string allowed) =>
        InvalidParameterValue($"Invalid value {value} for parameter {name}; allowed values: {allowed}");


}
