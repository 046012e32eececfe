namespace Serverless.Engine;

/// <summary>Settings of one engine instance. Bound from configuration by the hosts; validated at start-up.</summary>
public sealed class EngineOptions
{
    /// <summary>Folder holding the store, the change log and checkpoints. Default: <c>./data</c> under the working directory.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Keep everything in memory; nothing survives a restart. Default: false.</summary>
    public bool InMemory { get; set; }

    /// <summary>Region reported in ARNs when a request carries no SigV4 credential scope. Default: us-east-1.</summary>
    public string DefaultRegion { get; set; } = "us-east-1";

    /// <summary>Account id used in ARNs. Default: 000000000000.</summary>
    public string AccountId { get; set; } = "000000000000";

    /// <summary>Largest request body accepted, in bytes; larger bodies are refused before they are buffered. Default: 16 MiB.</summary>
    public long MaxRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Memory given to FASTER's in-memory log, in bytes; colder items spill to disk. Default: 512 MiB.</summary>
    public long StoreMemoryBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Change-log commit settings: when writes are forced to disk, segment size, group-commit delay.</summary>
    public Storage.ChangeLogOptions ChangeLog { get; set; } = new();

    /// <summary>Take a checkpoint after this many change-log bytes since the last one. Default: 64 MiB.</summary>
    public long CheckpointLogBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Largest item collection (items sharing a partition key, plus their local-index entries) in a table with local
    /// secondary indexes. Default: 10 GiB, DynamoDB's limit.
    /// </summary>
    public long ItemCollectionSizeLimitBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    public void Validate()
    {
        if (!InMemory && string.IsNullOrWhiteSpace(DataDirectory))
            throw new ArgumentException("DataDirectory must be set unless InMemory is true.");
        if (MaxRequestBytes < 1024) throw new ArgumentException("MaxRequestBytes must be at least 1024.");
        if (StoreMemoryBytes < 16L * 1024 * 1024) throw new ArgumentException("StoreMemoryBytes must be at least 16 MiB.");
        if (ChangeLog.GroupCommitDelay < TimeSpan.Zero) throw new ArgumentException("ChangeLog.GroupCommitDelay must not be negative.");
        if (ChangeLog.SyncInterval <= TimeSpan.Zero) throw new ArgumentException("ChangeLog.SyncInterval must be positive.");
        if (ChangeLog.SegmentBytes < 1024 * 1024) throw new ArgumentException("ChangeLog.SegmentBytes must be at least 1 MiB.");
        if (ItemCollectionSizeLimitBytes < 1024) throw new ArgumentException("ItemCollectionSizeLimitBytes must be at least 1024.");
        if (string.IsNullOrWhiteSpace(DefaultRegion)) throw new ArgumentException("DefaultRegion must be set.");
        if (AccountId.Length != 12 || !AccountId.All(char.IsAsciiDigit)) throw new ArgumentException("AccountId must be 12 digits.");
    }
}
