namespace Serverless.Engine.Security.Authentication;

/// <summary>
/// The SigV4 signing name (the service in the credential scope) that each API served by this endpoint expects,
/// by <c>X-Amz-Target</c> prefix. DynamoDB and DynamoDB Streams both sign as <c>dynamodb</c>; an API added later
/// (kinesis, dax, application-autoscaling) adds its row here.
/// </summary>
public static class SigningNames
{
    public const string DynamoDb = "dynamodb";

    private static readonly (string TargetPrefix, string SigningName)[] Table =
    [
        ("DynamoDB_20120810.", DynamoDb),
        ("DynamoDBStreams_20120810.", DynamoDb),
    ];

    /// <summary>The signing name for <paramref name="target"/>, or null when no API served here has that prefix.</summary>
    public static string? ForTarget(string? target)
    {
        if (target is null) return null;
        foreach (var (prefix, name) in Table)
            if (target.StartsWith(prefix, StringComparison.Ordinal)) return name;
        return null;
    }
}
