using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Engine.Storage;

namespace Serverless.Replicator.GlobalTables;

/// <summary>Kinds of replication message. Persisted in queues: never rename.</summary>
public static class MessageType
{
    /// <summary>Source → new replica: create the table (its definition and the replica's overrides).</summary>
    public const string Create = "Create";

    /// <summary>New replica → source: the table exists; send the copy.</summary>
    public const string Created = "Created";

    /// <summary>Item writes, from the copy (<see cref="ReplicationMessage.Copy"/>) or from the change log.</summary>
    public const string Changes = "Changes";

    /// <summary>Source → new replica: every existing item has been sent.</summary>
    public const string CopyDone = "CopyDone";

    /// <summary>New replica → source: the copy is applied; the replica is ACTIVE.</summary>
    public const string Active = "Active";

    /// <summary>Any replica → the others: the settings kept in sync (indexes, TTL, billing) changed.</summary>
    public const string Settings = "Settings";

    /// <summary>Any replica → the others: the replica list changed (a replica was added or removed).</summary>
    public const string Members = "Members";

    /// <summary>Source → replica: ReplicaUpdates Delete; delete the table.</summary>
    public const string Delete = "Delete";

    /// <summary>Replica → a peer on another host: its changes up to NextLsn are applied here (the peer's liveness check).</summary>
    public const string Ack = "Ack";

    /// <summary>
    /// The claim check: a message longer than the destination queue takes, kept in the payload blob
    /// <see cref="ReplicationMessage.Blob"/> of that queue's storage account (see ClaimCheck/ReplicationPayloads).
    /// </summary>
    public const string Payload = "Payload";
}

/// <summary>
/// One queue message between the replicas of a global table. JSON; keys and items are base64 of the store's encodings
/// (keys without their table number, which differs per region). Shipping cuts changes into messages of at most
/// <see cref="MaxBytes"/>; one still longer than its queue takes (a single large item, or a transaction's items,
/// which are never split) travels as a <see cref="MessageType.Payload"/> pointer to a blob holding it.
/// </summary>
public sealed record ReplicationMessage
{
    public const int CurrentFormat = 1;

    /// <summary>
    /// What shipping aims a message at: Azure Storage allows 64 KiB per message and base64 (when the queue encodes)
    /// grows text by 4/3, which leaves 48 KiB, less room for the envelope and the estimate's rounding.
    /// </summary>
    public const int MaxBytes = 46 * 1024;

    public int Format { get; init; } = CurrentFormat;

    public required string Type { get; init; }

    /// <summary>Region that sent the message.</summary>
    public required string Source { get; init; }

    /// <summary>Region the message is for.</summary>
    public required string Target { get; init; }

    public required string Table { get; init; }

    /// <summary>Create and Settings: the source's table definition (JSON).</summary>
    public TableDefinition? Definition { get; init; }

    /// <summary>
    /// Settings: the sender's synced settings before this change (<see cref="SyncedSettings"/>), so the receiver applies
    /// only the groups that changed; absent, every group is applied.
    /// </summary>
    public string? SyncedBefore { get; init; }

    /// <summary>
    /// Settings: the sender's version of each synced group ("microseconds/region"); a receiver applies a changed group
    /// only when this version is newer than its own, so the same setting changed at once in two regions converges.
    /// Absent (older senders): the message's send time counts as the version.
    /// </summary>
    public Dictionary<string, string>? Versions { get; init; }

    /// <summary>Create and Members: every region of the global table.</summary>
    public List<string>? Regions { get; init; }

    /// <summary>Changes: the writes, in the source's log order.</summary>
    public List<ReplicatedChange>? Changes { get; init; }

    /// <summary>Changes: part of the first copy rather than of the change log.</summary>
    public bool Copy { get; init; }

    /// <summary>Changes from the log: the source's sequence numbers this message covers, [FromLsn, NextLsn).</summary>
    public ulong FromLsn { get; init; }

    public ulong NextLsn { get; init; }

    /// <summary>Copy: how much of the existing items has been sent, 0–100.</summary>
    public int? Progress { get; init; }

    /// <summary>When the source sent the message (Unix milliseconds).</summary>
    public long SentAt { get; init; }

    /// <summary>
    /// Payload: the blob, in container <c>ddb-replication-payloads</c> of the queue's storage account, holding the
    /// whole message (its JSON); the pointer repeats its Copy, FromLsn and NextLsn for the logs.
    /// </summary>
    public string? Blob { get; init; }

    public string Serialize() => JsonSerializer.Serialize(this, ReplicationJsonContext.Default.ReplicationMessage);

    public static ReplicationMessage Parse(string text)
    {
        var message = JsonSerializer.Deserialize(text, ReplicationJsonContext.Default.ReplicationMessage)
            ?? throw new InvalidDataException("Empty replication message.");
        if (message.Format != CurrentFormat) throw new InvalidDataException($"Replication message format {message.Format}; this build reads format {CurrentFormat}.");
        return message;
    }
}

/// <summary>
/// One replicated item write: its sequence number and timestamp in the source region (the version last writer wins
/// compares), the key without its table number, and the new stored value (absent for a delete).
/// </summary>
public sealed record ReplicatedChange
{
    public required ulong Lsn { get; init; }

    public required long Ts { get; init; }

    /// <summary>Region where the write happened, when it is not the message's source (copies of replicated items).</summary>
    public string? Origin { get; init; }

    public required byte[] Key { get; init; }

    public byte[]? Item { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ReplicationMessage))]
[JsonSerializable(typeof(ReplicationCheckpoint))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class ReplicationJsonContext : JsonSerializerContext;
