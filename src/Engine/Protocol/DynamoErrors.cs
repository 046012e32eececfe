using System.Runtime.CompilerServices;

namespace Serverless.Engine.Protocol;

/// <summary>
/// Why one action of a cancelled transaction failed, or <c>None</c>. <see cref="WriteItem"/>, when set, writes the
/// <c>Item</c> member (the old item of a failed condition when ALL_OLD was asked).
/// </summary>
public readonly record struct CancellationReason(string Code, string? Message = null, Action<System.Text.Json.Utf8JsonWriter>? WriteItem = null)
{
    public const string ConflictMessage = "Transaction is ongoing for the item";

    public static CancellationReason None => new("None");

    public static CancellationReason Conflict => new("TransactionConflict", ConflictMessage);

    public static CancellationReason ConditionFailed(Action<System.Text.Json.Utf8JsonWriter>? writeItem) =>
        new("ConditionalCheckFailed", "The conditional request failed", writeItem);

    public static CancellationReason Validation(string message) => new("ValidationError", message);

    /// <summary>A PartiQL INSERT, in ExecuteTransaction, of a key that exists.</summary>
    public static CancellationReason DuplicateItem => new("DuplicateItem", "Duplicate primary key exists in table");

    /// <summary>An action refused by capacity: <c>ProvisionedThroughputExceeded</c> or <c>ThrottlingError</c>, with AWS's message.</summary>
    public static CancellationReason Throttled(string code, string message) => new(code, message);
}

/// <summary>
/// The one factory for every DynamoDB error the service returns. Callers pass the message AWS would give;
/// the type, namespace and HTTP status are decided here and nowhere else.
/// </summary>
public static class DynamoErrors
{
    public static DynamoException Validation(string message) => new("ValidationException", message);

    /// <summary>
    /// The error a partition raised in another process (Partitioning/PartitionCall.cs), rebuilt from its parts so it
    /// is written exactly as where it was raised: type, message, status, wire flags and extra members.
    /// </summary>
    public static DynamoException Rebuilt(Partitioning.PartitionAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var extra = answer.ExtraMembers;
        return new DynamoException(answer.ErrorType ?? "InternalFailure", answer.Message ?? "", answer.StatusCode, answer.IncludeTypePrefix)
        {
            CapitalMessage = answer.CapitalMessage,
            BareWireType = answer.BareWireType,
            WriteExtraMembers = extra is null ? null : w =>
            {
                using var document = System.Text.Json.JsonDocument.Parse(extra);
                foreach (var member in document.RootElement.EnumerateObject()) member.WriteTo(w);
            },
        };
    }

    /// <summary>A transaction whose items hash to several partitions of a partitioned store (ours: two-phase commit is not built yet, docs/scale-out.md).</summary>
    public static DynamoException CrossPartitionTransaction() =>
        Validation("Transactions across partitions are not supported yet (Engine:Partitions > 1): every item of a transaction must hash to the same partition.");

    /// <summary>UpdateTable ReplicaUpdates Create on a PROVISIONED table whose write capacity has no auto scaling (AWS's text).</summary>
    public static DynamoException ReplicaNeedsScaledWrites() => Validation("Table write capacity should either be Pay-Per-Request or AutoScaled.");

    /// <summary>
    /// ReplicaUpdates refusals, in AWS's words as recorded from live calls (docs/global-tables.md gives the source):
    /// two Create or two Delete actions, two kinds of action, an element without an action, an Update or Delete of a
    /// region that is no replica, a Create where the table exists, a region global tables do not reach.
    /// </summary>
    public static DynamoException ReplicaActionsMoreThanOne() => Validation("Update table operation with more than one create or delete replica actions not allowed");

    /// <inheritdoc cref="ReplicaActionsMoreThanOne"/>
    public static DynamoException ReplicaActionsOfTwoTypes() => Validation("Update table operation with more than one type of replica actions not allowed.");

    /// <inheritdoc cref="ReplicaActionsMoreThanOne"/>
    public static DynamoException ReplicaActionsSameActionRegions() => Validation("Cannot target multiple regions with the same action");

    /// <inheritdoc cref="ReplicaActionsMoreThanOne"/>
    public static DynamoException ReplicaActionEmpty() => Validation("There are no actions specified in the Replica Update Action of the request.");

    /// <inheritdoc cref="ReplicaActionsMoreThanOne"/>
    public static DynamoException ReplicaLocalRegion() => Validation("Cannot add or delete the local region through ReplicaUpdates. Use CreateTable, DeleteTable, or UpdateTable as required.");

    /// <inheritdoc cref="ReplicaActionsMoreThanOne"/>
    public static DynamoException ReplicaNotInGroup(string region) =>
        Validation($"Update global table operation failed because one or more replicas were not part of the global table. Please retry the request without these replicas: [{region}].");

    /// <inheritdoc cref="ReplicaActionsMoreThanOne"/>
    public static DynamoException ReplicaExists(string table) =>
        Validation($"Failed to create a the new replica of table with name: \u2018{table}\u2019 because one or more replicas already existed as tables.");

    /// <inheritdoc cref="ReplicaActionsMoreThanOne"/>
    public static DynamoException ReplicaRegionNotSupported(string region, IEnumerable<string> supported) =>
        Validation($"Region {region} is not supported. The latest version of global tables are only supported in the following regions: [{string.Join(", ", supported)}].");

    public static DynamoException Serialization(string message) => new("SerializationException", message);

    public static DynamoException UnknownOperation() => new("UnknownOperationException", "");

    public static DynamoException ResourceNotFound(string message) => new("ResourceNotFoundException", message);

    /// <summary>The store's refusals: Storage returns (or raises) statuses, and their wire errors are built here.</summary>
    public static DynamoException From(Storage.StoreStatus status, in Storage.IndexKeyProblem problem = default, string? subject = null) => status switch
    {
        Storage.StoreStatus.TableNotFound => TableNotFound(),
        Storage.StoreStatus.TableExists => ResourceInUse($"Table already exists: {subject}"),
        Storage.StoreStatus.TransactionConflict => TransactionConflict(),
        Storage.StoreStatus.CollectionLimitExceeded => ItemCollectionSizeLimitExceeded(),
        Storage.StoreStatus.InvalidIndexKey => InvalidIndexKey(problem),
        Storage.StoreStatus.LogUnavailable => ServiceUnavailable(subject ?? "The change log cannot be written; the write was not applied durably."),
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Not a refusal."),
    };

    /// <inheritdoc cref="From(Storage.StoreStatus, in Storage.IndexKeyProblem, string?)"/>
    public static DynamoException From(Storage.StoreException e) => From(e.Status, default, e.Subject);

    /// <summary>
    /// The DynamoDB error an exception stands for: itself, or a store refusal's error; null for anything else (a fault).
    /// For callers of the engine outside the request path, which catch both the way <c>RequestHandler</c> does.
    /// </summary>
    public static DynamoException? Of(Exception e) => e as DynamoException ?? (e is Storage.StoreException s ? From(s) : null);

    /// <summary>A write whose new image has a secondary index key of the wrong type, or an empty one.</summary>
    public static DynamoException InvalidIndexKey(in Storage.IndexKeyProblem p) => p.MaxSize > 0
        ? Validation($"One or more parameter values were invalid: Size limit exceeded for Index Key {p.KeyName} Actual Size: {p.Size} bytes Max Size: {p.MaxSize} bytes IndexName: {p.IndexName}")
        : p.EmptyKind == null
        ? Validation($"One or more parameter values were invalid: Type mismatch for Index Key {p.KeyName} Expected: {p.Expected} Actual: {p.Actual} IndexName: {p.IndexName}")
        : Validation("One or more parameter values are not valid. A value specified for a secondary index key is not supported. "
            + $"The AttributeValue for a key attribute cannot contain an empty {p.EmptyKind} value. IndexName: {p.IndexName}, IndexKey: {p.KeyName}");

    public static DynamoException TableNotFound() => ResourceNotFound("Requested resource not found");

    public static DynamoException ResourceInUse(string message) => new("ResourceInUseException", message);

    public static DynamoException LimitExceeded(string message) => new("LimitExceededException", message);

    public static DynamoException ConditionalCheckFailed(Action<System.Text.Json.Utf8JsonWriter>? writeItem = null) =>
        new("ConditionalCheckFailedException", "The conditional request failed") { WriteExtraMembers = writeItem };

    /// <summary>A PartiQL INSERT of a key that exists.</summary>
    public static DynamoException DuplicateItem() => new("DuplicateItemException", "Duplicate primary key exists in table");

    public static DynamoException ItemCollectionSizeLimitExceeded() =>
        new("ItemCollectionSizeLimitExceededException", "Item collection size limit exceeded");

    public static DynamoException TableNotFoundForRestore(string message) => new("TableNotFoundException", message);

    public static DynamoException TableAlreadyExists(string message) => new("TableAlreadyExistsException", message);

    public static DynamoException BackupNotFound(string message) => new("BackupNotFoundException", message);

    public static DynamoException PointInTimeRecoveryUnavailable(string message) => new("PointInTimeRecoveryUnavailableException", message);

    public static DynamoException InvalidRestoreTime(string message) => new("InvalidRestoreTimeException", message);

    public static DynamoException ContinuousBackupsUnavailable(string message) => new("ContinuousBackupsUnavailableException", message);

    public static DynamoException ExportNotFound(string message) => new("ExportNotFoundException", message);

    public static DynamoException InvalidExportTime(string message) => new("InvalidExportTimeException", message);

    public static DynamoException ExportConflict(string message) => new("ExportConflictException", message);

    public static DynamoException ImportNotFound(string message) => new("ImportNotFoundException", message);

    public static DynamoException ImportConflict(string message) => new("ImportConflictException", message);

    public static DynamoException ExpiredIterator(string message) => new("ExpiredIteratorException", message);

    public static DynamoException TrimmedDataAccess(string message) => new("TrimmedDataAccessException", message);

    public static DynamoException TransactionConflict(string message) => new("TransactionConflictException", message);

    /// <summary>A plain write to an item that an in-flight transaction holds.</summary>
    public static DynamoException TransactionConflict() => TransactionConflict(CancellationReason.ConflictMessage);

    /// <summary>
    /// A transaction that applied nothing. <paramref name="reasons"/> has one entry per action, in request order;
    /// the message lists their codes as AWS does.
    /// </summary>
    public static DynamoException TransactionCanceled(IReadOnlyList<CancellationReason> reasons)
    {
        var codes = new string[reasons.Count];
        for (var i = 0; i < codes.Length; i++) codes[i] = reasons[i].Code;
        var message = "Transaction cancelled, please refer cancellation reasons for specific reasons [" + string.Join(", ", codes) + "]";
        return new DynamoException("TransactionCanceledException", message)
        {
            WriteExtraMembers = w =>
            {
                w.WriteStartArray("CancellationReasons"u8);
                foreach (var r in reasons)
                {
                    w.WriteStartObject();
                    w.WriteString("Code"u8, r.Code);
                    if (r.Message != null) w.WriteString("Message"u8, r.Message);
                    r.WriteItem?.Invoke(w);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            },
        };
    }

    /// <summary>A provisioned table's throughput (or a partition key's share) was exceeded.</summary>
    public const string TableThroughputMessage =
        "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.";

    /// <summary>A provisioned GSI's throughput was exceeded (AWS sends this one without a final full stop).</summary>
    public const string IndexThroughputMessage =
        "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API";

    /// <summary>An on-demand table's or GSI's OnDemandThroughput maximum was exceeded.</summary>
    public const string MaxOnDemandThroughputMessage = "Throughput exceeds the maximum OnDemandThroughput configured on table or index";

    /// <summary>An on-demand table's partition key exceeded its partition's limit.</summary>
    public const string OnDemandCapacityMessage =
        "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html";

    /// <summary>
    /// ProvisionedThroughputExceededException with its <c>ThrottlingReasons</c>: one reason (for example
    /// <c>TableWriteProvisionedThroughputExceeded</c>) and the ARN of the table or index.
    /// </summary>
    public static DynamoException ProvisionedThroughputExceeded(string message, string reason, string resourceArn) =>
        new("ProvisionedThroughputExceededException", message) { WriteExtraMembers = w => WriteThrottlingReasons(w, "ThrottlingReasons"u8, reason, resourceArn) };

    /// <summary>
    /// ThrottlingException (<c>com.amazon.coral.availability</c>), for on-demand maximums; its model spells the list
    /// <c>throttlingReasons</c>.
    /// </summary>
    public static DynamoException Throttling(string message, string reason, string resourceArn) =>
        new("ThrottlingException", message) { WriteExtraMembers = w => WriteThrottlingReasons(w, "throttlingReasons"u8, reason, resourceArn) };

    private static void WriteThrottlingReasons(System.Text.Json.Utf8JsonWriter w, ReadOnlySpan<byte> member, string reason, string resourceArn)
    {
        w.WriteStartArray(member);
        w.WriteStartObject();
        w.WriteString("reason"u8, reason);
        w.WriteString("resource"u8, resourceArn);
        w.WriteEndObject();
        w.WriteEndArray();
    }

    /// <summary>UpdateTable: the fifth provisioned-throughput decrease of a UTC day within an hour of the last one.</summary>
    public static DynamoException DecreaseLimitExceeded(int decreasesToday, DateTime lastDecrease, DateTime nextDecrease) =>
        LimitExceeded("Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first 4 decreases, "
            + "each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: "
            + decreasesToday.ToString(System.Globalization.CultureInfo.InvariantCulture) + ". Last decrease at " + AwsLongDate(lastDecrease)
            + ". Next decrease can be made at " + AwsLongDate(nextDecrease));

    private static string AwsLongDate(DateTime utc) =>
        utc.ToString("dddd, MMMM d, yyyy 'at' h:mm:ss tt", System.Globalization.CultureInfo.InvariantCulture) + " Coordinated Universal Time";

    public static DynamoException IdempotentParameterMismatch() =>
        new("IdempotentParameterMismatchException", "The request uses the same client token as a previous, but non-identical request.");

    public static DynamoException TransactionInProgress() =>
        new("TransactionInProgressException", "Transaction from previous request is still in progress");

    public static DynamoException RequestTooLarge() =>
        new("RequestEntityTooLargeException", "Request entity too large", statusCode: 413);

    public static DynamoException MissingAuthenticationToken() =>
        new("MissingAuthenticationTokenException", "Request is missing Authentication Token");

    public static DynamoException InvalidSignature(string message) => new("InvalidSignatureException", message);

    /// <summary>
    /// A denied request, with AWS's message: the principal, the action, the resource and why (no identity-based
    /// policy allows it, or an explicit deny in an identity-based or a resource-based policy).
    /// </summary>
    public static DynamoException AccessDenied(string principal, string action, string resource, Security.Authorization.DenialReason reason) =>
        AccessDenied($"User: {principal} is not authorized to perform: {action} on resource: {resource} " + reason switch
        {
            Security.Authorization.DenialReason.IdentityPolicyDeny => "with an explicit deny in an identity-based policy",
            Security.Authorization.DenialReason.ResourcePolicyDeny => "with an explicit deny in a resource-based policy",
            _ => $"because no identity-based policy allows the {action} action",
        });

    public static DynamoException AccessDenied(string message) => new("AccessDeniedException", message);

    /// <summary>A request naming another account's resource by ARN: only a resource-based policy could allow it.</summary>
    public static DynamoException NoResourcePolicy(string principal, string action, string resource) =>
        AccessDenied($"User: {principal} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action");

    /// <summary>PutResourcePolicy refusing a policy that would deny its caller future PutResourcePolicy calls.</summary>
    public static DynamoException ResourcePolicyLockout() =>
        AccessDenied("The new resource policy will not allow you to update the resource policy in the future.");

    public static DynamoException PolicyNotFound(string message) =>
        new("PolicyNotFoundException", "Resource-based policy not found for the provided ResourceArn: " + message);

    /// <summary>The signature does not match the one computed with the key's secret (DynamoDB gives no canonical string).</summary>
    public static DynamoException SignatureMismatch() => InvalidSignature(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");

    /// <summary>A malformed or incomplete SigV4 <c>Authorization</c> header or query string.</summary>
    public static DynamoException IncompleteSignature(string message) => new("IncompleteSignatureException", message);

    /// <summary>The access key id is not one of the configured keys (or a temporary key came without its token).</summary>
    public static DynamoException UnrecognizedClient() =>
        new("UnrecognizedClientException", "The security token included in the request is invalid.");

    /// <summary>An <c>X-Amz-Security-Token</c> that does not belong to the key; AWS's message has no final period here.</summary>
    public static DynamoException InvalidSecurityToken() =>
        new("UnrecognizedClientException", "The security token included in the request is invalid");

    public static DynamoException InternalServerError() =>
        new("InternalServerError", "Internal server error", statusCode: 500);

    public static DynamoException ServiceUnavailable(string message) =>
        new("ServiceUnavailableException", message, statusCode: 503);

    /// <summary>Throws a ValidationException without inlining the throw into hot callers.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowValidation(string message) => throw Validation(message);
}
