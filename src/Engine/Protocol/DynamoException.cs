namespace Serverless.Engine.Protocol;

/// <summary>
/// A DynamoDB error on its way to the client. Only <see cref="DynamoErrors"/> creates these, so each error type
/// and message is built in exactly one place; the request handler serialises them in one place too.
/// </summary>
public sealed class DynamoException : Exception
{
    internal DynamoException(string errorType, string message, int statusCode = 400, bool includeTypePrefix = true)
        : base(message)
    {
        ErrorType = errorType;
        StatusCode = statusCode;
        IncludeTypePrefix = includeTypePrefix;
    }

    /// <summary>Short error name, for example <c>ValidationException</c>.</summary>
    public string ErrorType { get; }

    public int StatusCode { get; }

    /// <summary>The __type namespace: DynamoDB errors use com.amazonaws.dynamodb.v20120810, a few use com.amazon.coral.*.</summary>
    public bool IncludeTypePrefix { get; }

    /// <summary>Extra JSON members some errors carry (the item of a failed condition, cancellation reasons).</summary>
    public Action<System.Text.Json.Utf8JsonWriter>? WriteExtraMembers { get; init; }

    /// <summary>
    /// Coral's own errors spell the member <c>Message</c> (SerializationException, AccessDeniedException); so does
    /// TransactionCanceledException (next to its CancellationReasons); DynamoDB's other errors and validation errors
    /// use <c>message</c>.
    /// </summary>
    public bool CapitalMessageKey => CapitalMessage || ErrorType is "SerializationException" or "TransactionCanceledException" or "AccessDeniedException";

    /// <summary>Set by APIs whose error shapes spell the member <c>Message</c> (Application Auto Scaling).</summary>
    public bool CapitalMessage { get; init; }

    /// <summary>Some errors (unknown operation) carry no message member at all.</summary>
    public bool HasMessage => Message.Length > 0;

    /// <summary>
    /// Set by the errors of the JSON 1.1 APIs served here (Kinesis, DAX, Application Auto Scaling), whose
    /// <c>__type</c> is the bare error name. Each of those APIs builds its errors in one file of its folder.
    /// </summary>
    public bool BareWireType { get; init; }

    public string WireType => BareWireType ? ErrorType : ErrorType switch
    {
        "ValidationException" => "com.amazon.coral.validate#ValidationException",
        "SerializationException" => "com.amazon.coral.service#SerializationException",
        "UnknownOperationException" => "com.amazon.coral.service#UnknownOperationException",
        "MissingAuthenticationTokenException" => "com.amazon.coral.service#MissingAuthenticationTokenException",
        "InternalFailure" => "com.amazon.coral.service#InternalFailure",
        "AccessDeniedException" => "com.amazon.coral.service#AccessDeniedException",
        "UnrecognizedClientException" => "com.amazon.coral.service#UnrecognizedClientException",
        "InvalidSignatureException" => "com.amazon.coral.service#InvalidSignatureException",
        "IncompleteSignatureException" => "com.amazon.coral.service#IncompleteSignatureException",
        "ThrottlingException" => "com.amazon.coral.availability#ThrottlingException",
        _ => "com.amazonaws.dynamodb.v20120810#" + ErrorType,
    };
}
