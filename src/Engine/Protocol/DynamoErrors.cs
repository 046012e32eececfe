using System.Runtime.CompilerServices;

namespace Serverless.Engine.Protocol;

/// <summary>
/// The one factory for every DynamoDB error the service returns. Callers pass the message AWS would give;
/// the type, namespace and HTTP status are decided here and nowhere else.
/// </summary>
public static class DynamoErrors
{
    public static DynamoException Validation(string message) => new("ValidationException", message);

    public static DynamoException Serialization(string message) => new("SerializationException", message);

    public static DynamoException UnknownOperation() => new("UnknownOperationException", "");

    public static DynamoException ResourceNotFound(string message) => new("ResourceNotFoundException", message);

    public static DynamoException TableNotFound() => ResourceNotFound("Requested resource not found");

    public static DynamoException ResourceInUse(string message) => new("ResourceInUseException", message);

    public static DynamoException LimitExceeded(string message) => new("LimitExceededException", message);

    public static DynamoException ConditionalCheckFailed(Action<System.Text.Json.Utf8JsonWriter>? writeItem = null) =>
        new("ConditionalCheckFailedException", "The conditional request failed") { WriteExtraMembers = writeItem };

    public static DynamoException ItemCollectionSizeLimitExceeded() =>
        new("ItemCollectionSizeLimitExceededException", "Item collection size limit exceeded");

    public static DynamoException ExpiredIterator(string message) => new("ExpiredIteratorException", message);

    public static DynamoException TrimmedDataAccess(string message) => new("TrimmedDataAccessException", message);

    public static DynamoException TransactionConflict(string message) => new("TransactionConflictException", message);

    public static DynamoException RequestTooLarge() =>
        new("RequestEntityTooLargeException", "Request entity too large", statusCode: 413);

    public static DynamoException MissingAuthenticationToken() =>
        new("MissingAuthenticationTokenException", "Request is missing Authentication Token");

    public static DynamoException InvalidSignature(string message) => new("InvalidSignatureException", message);

    public static DynamoException InternalServerError() =>
        new("InternalServerError", "Internal server error", statusCode: 500);

    public static DynamoException ServiceUnavailable(string message) =>
        new("ServiceUnavailableException", message, statusCode: 503);

    /// <summary>Throws a ValidationException without inlining the throw into hot callers.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowValidation(string message) => throw Validation(message);
}
