using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Engine.Operations;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Replicator.Triggers;

/// <summary>
/// How far a mapping has delivered: the position after the last record of the last batch that was enqueued. Saved
/// in <c>{data}/triggers/{name}.json</c> after each enqueue (write to a temporary file, fsync, rename), so a crash
/// replays at most the batch whose enqueue it interrupted. The file is the JSON below sealed with the store's data
/// key (<see cref="SealedFile"/>, kind TriggerCheckpoint). The format is guarded by a golden test.
/// </summary>
public sealed record TriggerCheckpoint
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public required string Table { get; init; }

    public required string StreamLabel { get; init; }

    /// <summary>First sequence number of the change-log segment holding the next record (a read hint).</summary>
    public required ulong Segment { get; init; }

    /// <summary>Change-log sequence number of the next record.</summary>
    public required ulong Lsn { get; init; }

    /// <summary>Place of the next record within a transaction's log record.</summary>
    public required int Item { get; init; }

    /// <summary>Byte offset in the segment of a frame at or before the next record (a read hint).</summary>
    public required long Offset { get; init; }

    [JsonIgnore]
    public StreamPosition Position => new(StreamLabel, Segment, Lsn, Item, Offset);

    public static TriggerCheckpoint Of(string table, StreamPosition p) => new()
    {
        Table = table, StreamLabel = p.StreamLabel, Segment = p.Segment, Lsn = p.Lsn, Item = p.Item, Offset = p.Offset,
    };

    public static string PathOf(string dataDirectory, TriggerMapping mapping) =>
        Path.Combine(Path.GetFullPath(dataDirectory), "triggers", mapping.CheckpointName + ".json");

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, TriggerJsonContext.Default.TriggerCheckpoint);

    public static TriggerCheckpoint? Load(string path, StoreCipher cipher)
    {
        if (!File.Exists(path)) return null;
        var checkpoint = JsonSerializer.Deserialize(SealedFile.ReadFile(path, cipher, SealedKind.TriggerCheckpoint), TriggerJsonContext.Default.TriggerCheckpoint);
        if (checkpoint is { Format: not CurrentFormat })
            throw new InvalidDataException($"Trigger checkpoint {path} has format {checkpoint.Format}; this build reads format {CurrentFormat}.");
        return checkpoint;
    }

    public void Save(string path, StoreCipher cipher)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        SealedFile.WriteAtomically(path, cipher, SealedKind.TriggerCheckpoint, Serialize());
    }
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(TriggerCheckpoint))]
internal sealed partial class TriggerJsonContext : JsonSerializerContext;
