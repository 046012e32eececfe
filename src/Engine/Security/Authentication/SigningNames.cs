namespace Serverless.Engine.Security.Authentication;

/// <summary>
/// The SigV4 signing name (the service in the credential scope) that each API served by this endpoint expects,
/// by <c>X-Amz-Target</c> prefix, from <see cref="Operations.OperationTable.Services"/>. DynamoDB and DynamoDB Streams
/// both sign as <c>dynamodb</c>.
/// </summary>
public static class SigningNames
{
    public const string DynamoDb = "dynamodb";

    /// <summary>The signing name for <paramref name="target"/>, or null when no API served here has that prefix.</summary>
    public static string? ForTarget(string? target) => Operations.OperationTable.ServiceFor(target)?.SigningName;
}
