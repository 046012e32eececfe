namespace Serverless.Engine.Storage;

/// <summary>
/// Why the store refused a change. Storage returns these (in <see cref="WriteResult"/>, <see cref="TransactionResult"/>)
/// or, from the catalog face and for commits that cannot be made durable, raises them in a
/// <see cref="StoreException"/>; the request path turns them into DynamoDB's errors
/// (<c>DynamoErrors.From</c>), so Storage never builds a wire error itself.
/// </summary>
public enum StoreStatus
{
    Ok = 0,

    /// <summary>The table does not exist, or is being deleted.</summary>
    TableNotFound,

    /// <summary>A table of that name already exists.</summary>
    TableExists,

    /// <summary>An in-flight transaction holds the item.</summary>
    TransactionConflict,

    /// <summary>The change would take a local-index item collection past its size limit.</summary>
    CollectionLimitExceeded,

    /// <summary>The new image has a secondary index key attribute of the wrong type, or empty (<see cref="IndexKeyProblem"/>).</summary>
    InvalidIndexKey,

    /// <summary>The change log (or the blob copy of it) cannot be written: the change is not durable.</summary>
    LogUnavailable,
}

/// <summary>
/// A secondary index key attribute the store refused: its index and name, the declared and the actual type, and
/// for an empty value which kind (<c>string</c> or <c>binary</c>).
/// </summary>
public readonly record struct IndexKeyProblem(string IndexName, string KeyName, string Expected, string Actual, string? EmptyKind, int Size = 0, int MaxSize = 0);

/// <summary>
/// A refusal of the store, raised where a status cannot be returned (see <see cref="StoreStatus"/>).
/// <see cref="Subject"/> is what it concerns: the table's name, or for <see cref="StoreStatus.LogUnavailable"/> what
/// could not be made durable.
/// </summary>
public sealed class StoreException(StoreStatus status, string subject) : Exception($"{status}: {subject}")
{
    public StoreStatus Status { get; } = status;

    public string Subject { get; } = subject;
}
