using System.Collections.Frozen;

namespace Serverless.Engine.Operations;

/// <summary>
/// One AWS API served on this endpoint: the <c>X-Amz-Target</c> prefix that selects it, the SigV4 signing name
/// (also the prefix of its IAM actions), the JSON protocol version its answers carry, and its operations.
/// DynamoDB and DynamoDB Streams speak JSON 1.0; Kinesis, DAX and Application Auto Scaling speak JSON 1.1.
/// </summary>
public sealed class ApiService
{
    public const string Json10 = "application/x-amz-json-1.0";
    public const string Json11 = "application/x-amz-json-1.1";

    private readonly FrozenDictionary<string, OperationHandler> _handlers;
    private readonly FrozenDictionary<string, OperationHandler>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public ApiService(string targetPrefix, string signingName, string contentType, IDictionary<string, OperationHandler> handlers)
    {
        TargetPrefix = targetPrefix;
        SigningName = signingName;
        ContentType = contentType;
        _handlers = handlers.ToFrozenDictionary(StringComparer.Ordinal);
        _lookup = _handlers.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The target prefix, dot included: <c>DynamoDB_20120810.</c>.</summary>
    public string TargetPrefix { get; }

    /// <summary>The service in the SigV4 credential scope, and the prefix of the IAM actions: <c>dynamodb</c>, <c>kinesis</c>.</summary>
    public string SigningName { get; }

    /// <summary>The content type of every answer, errors included.</summary>
    public string ContentType { get; }

    public IEnumerable<string> OperationNames => _handlers.Keys;

    public bool Serves(string target) => target.StartsWith(TargetPrefix, StringComparison.Ordinal);

    /// <summary>The handler for <paramref name="target"/> (which must start with <see cref="TargetPrefix"/>), or null.</summary>
    public OperationHandler? Find(string target) =>
        _lookup.TryGetValue(target.AsSpan(TargetPrefix.Length), out var handler) ? handler : null;
}
