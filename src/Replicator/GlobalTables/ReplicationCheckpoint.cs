using System.Text.Json;

namespace Serverless.Replicator.GlobalTables;

/// <summary>
/// How far one region has replicated one table to one peer: <see cref="Lsn"/> is the next change-log sequence number
/// to send, <see cref="Copied"/> whether the peer's first copy is complete. Saved in
/// <c>{data}/globaltables/{table}.{peer}.json</c> (temporary file, fsync, rename). With an in-process peer it moves
/// only when the peer has applied (durably) what precedes it, since in-process queues die with the process; with a
/// durable queue, once the message is enqueued. The format is guarded by a golden test.
/// </summary>
public sealed record ReplicationCheckpoint
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public required string Table { get; init; }

    /// <summary>The table's id here: a re-created table of the same name starts over.</summary>
    public required string TableId { get; init; }

    public required string Peer { get; init; }

    public required ulong Lsn { get; init; }

    public required bool Copied { get; init; }

    public static string PathOf(string dataDirectory, string table, string peer) =>
        Path.Combine(Path.GetFullPath(dataDirectory), "globaltables", $"{table}.{peer}.json");

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, ReplicationJsonContext.Default.ReplicationCheckpoint);

    public static ReplicationCheckpoint? Load(string path)
    {
        if (!File.Exists(path)) return null;
        var checkpoint = JsonSerializer.Deserialize(File.ReadAllBytes(path), ReplicationJsonContext.Default.ReplicationCheckpoint);
        if (checkpoint is { Format: not CurrentFormat })
            throw new InvalidDataException($"Replication checkpoint {path} has format {checkpoint.Format}; this build reads format {CurrentFormat}.");
        return checkpoint;
    }

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(Serialize());
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    public static void Delete(string path) => File.Delete(path);
}
