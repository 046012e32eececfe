namespace Serverless.Engine;

/// <summary>Settings of one engine instance. Bound from configuration by the hosts; validated at start-up.</summary>
public sealed class EngineOptions
{
    /// <summary>Folder holding the store, the change log and checkpoints. Default: <c>./data</c> under the working directory.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Keep everything in memory; nothing survives a restart. Default: false.</summary>
    public bool InMemory { get; set; }

    /// <summary>
    /// Cap on the change log of a memory-only engine (streams, PITR and triggers read it); past it the oldest records
    /// are dropped. Default: 256 MiB.
    /// </summary>
    public long InMemoryLogBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Region reported in ARNs when a request carries no SigV4 credential scope. Default: us-east-1.</summary>
    public string DefaultRegion { get; set; } = "us-east-1";

    /// <summary>Account id used in ARNs. Default: 000000000000.</summary>
    public string AccountId { get; set; } = "000000000000";

    /// <summary>Largest request body accepted, in bytes; larger bodies are refused before they are buffered. Default: 16 MiB.</summary>
    public long MaxRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Memory given to FASTER's in-memory log, in bytes; colder items spill to disk. Default: 64 MiB, sized for a
    /// serverless instance billed by its memory (docs/startup.md, "Memory"); raise it for a large hot working set.
    /// </summary>
    public long StoreMemoryBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Memory for decoded blocks of the ordered indexes' runs on disk (keys, secondary and expiry indexes), shared by
    /// all tables. Default: 64 MiB.
    /// </summary>
    public long IndexCacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Change-log commit settings: when writes are forced to disk, segment size, group-commit delay.</summary>
    public Storage.ChangeLogOptions ChangeLog { get; set; } = new();

    /// <summary>Take a checkpoint after this many change-log bytes since the last one. Default: 64 MiB.</summary>
    public long CheckpointLogBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Once no write has been logged for this long (after at least 4 MiB of log since the last time), one full,
    /// compacting garbage collection gives the memory a burst of writes left behind back to the operating system.
    /// Zero turns it off. Default: 1 second (docs/startup.md, "Memory").
    /// </summary>
    public TimeSpan IdleCompactionAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Largest item collection (items sharing a partition key, plus their local-index entries) in a table with local
    /// secondary indexes. Default: 10 GiB, DynamoDB's limit.
    /// </summary>
    public long ItemCollectionSizeLimitBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>
    /// Partitions of the store, by partition-key hash, 1–256 (docs/scale-out.md). Fixed when the store is created. Default: 1
    /// (one store, the layout of a store without partitions).
    /// </summary>
    public int Partitions { get; set; } = 1;

    /// <summary>Blob storage for the store (checkpoints and the change log); unset keeps everything in the data directory.</summary>
    public BlobOptions Blob { get; set; } = new();

    /// <summary>Keys, signature verification and policies. The hosts bind it from the top-level <c>Auth</c> section.</summary>
    public Security.AuthOptions Auth { get; set; } = new();

    /// <summary>Master keys for encryption at rest (always on). The hosts bind it from the top-level <c>Encryption</c> section.</summary>
    public Security.Encryption.EncryptionOptions Encryption { get; set; } = new();

    /// <summary>Where exports go and imports come from. The hosts bind it from the top-level <c>Exports</c> section.</summary>
    public Exports.ExportOptions Exports { get; set; } = new();
    /// <summary>The DAX-style cache clusters. The hosts bind it from the top-level <c>Cache</c> section.</summary>
    public Cache.CacheOptions Cache { get; set; } = new();
    /// <summary>The Kinesis Data Streams service. The hosts bind it from the top-level <c>Kinesis</c> section.</summary>
    public Kinesis.KinesisOptions Kinesis { get; set; } = new();
    /// <summary>Capacity enforcement (throttling). The hosts bind it from the top-level <c>Capacity</c> section.</summary>
    public Serverless.Engine.Capacity.CapacityOptions Capacity { get; set; } = new();

    public void Validate()
    {
        Cache.Validate();
        if (Blob.ConnectionString is { Length: > 0 } && InMemory) throw new ArgumentException("Blob storage cannot be combined with InMemory.");
        if (Blob.LeaseSeconds is < 15 or > 60) throw new ArgumentException("Blob.LeaseSeconds must be from 15 to 60 (Azure's lease limits).");
        if (Blob.AppendsInFlight is < 1 or > 32) throw new ArgumentException("Blob.AppendsInFlight must be from 1 to 32.");
        if (Blob.LogBlobBlocks is < 100 or > 49_000) throw new ArgumentException("Blob.LogBlobBlocks must be from 100 to 49,000 (Azure allows 50,000 blocks per append blob).");
        if (!InMemory && string.IsNullOrWhiteSpace(DataDirectory))
            throw new ArgumentException("DataDirectory must be set unless InMemory is true.");
        if (Partitions is < 1 or > Partitioning.PartitionMap.MaxPartitions) throw new ArgumentException("Partitions must be from 1 to 256.");
        if (InMemoryLogBytes < 16L * 1024 * 1024) throw new ArgumentException("InMemoryLogBytes must be at least 16 MiB.");
        if (MaxRequestBytes < 1024) throw new ArgumentException("MaxRequestBytes must be at least 1024.");
        if (IdleCompactionAfter < TimeSpan.Zero) throw new ArgumentException("IdleCompactionAfter must not be negative.");
        if (StoreMemoryBytes < 16L * 1024 * 1024) throw new ArgumentException("StoreMemoryBytes must be at least 16 MiB.");
        if (ChangeLog.GroupCommitDelay < TimeSpan.Zero) throw new ArgumentException("ChangeLog.GroupCommitDelay must not be negative.");
        if (ChangeLog.SyncInterval <= TimeSpan.Zero) throw new ArgumentException("ChangeLog.SyncInterval must be positive.");
        if (ChangeLog.SegmentBytes < 1024 * 1024) throw new ArgumentException("ChangeLog.SegmentBytes must be at least 1 MiB.");
        if (ItemCollectionSizeLimitBytes < 1024) throw new ArgumentException("ItemCollectionSizeLimitBytes must be at least 1024.");
        if (string.IsNullOrWhiteSpace(DefaultRegion)) throw new ArgumentException("DefaultRegion must be set.");
        Exports.Validate();
        Kinesis.Validate();
        if (AccountId.Length != 12 || !AccountId.All(char.IsAsciiDigit)) throw new ArgumentException("AccountId must be 12 digits.");
        if (Capacity.FindProblem() is { } capacity) throw new ArgumentException("Capacity." + capacity);
    }
}

/// <summary>
/// Blob storage settings (<c>Engine:Blob:*</c>). The hosts fill <see cref="ConnectionString"/> from the standard
/// Functions setting <c>AzureWebJobsStorage</c> unless it is set here.
/// </summary>
public sealed class BlobOptions
{
    /// <summary>Azure Storage connection string (Azurite locally). Empty: the embedded data-directory backend.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Whether <c>AzureWebJobsStorage</c> also holds the store. True (default): it does, unless
    /// <see cref="ConnectionString"/> names other storage. False: the store stays in the data directory while the
    /// Functions runtime's queues and timers use that storage (local runs with Azurite queues, benchmarks).
    /// </summary>
    public bool FromFunctionsStorage { get; set; } = true;

    /// <summary>Container holding the store. Default: ddb-store.</summary>
    public string Container { get; set; } = "ddb-store";

    /// <summary>Duration of the single-writer lease, 15–60 seconds; it is renewed at a third of it. Default: 30.</summary>
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>
    /// When another instance holds the store's lease. False (default): wait up to one lease period for it to expire,
    /// as a crashed owner's does, then take over; refuse to start if it is still held (a live owner renews it).
    /// True: wait as a standby, however long, until the lease is free.
    /// </summary>
    public bool Standby { get; set; }

    /// <summary>
    /// Change-log appends to blob storage in flight at once (pipelined group commit), 1–32. Default: 1. On Azurite
    /// nearly every overtaking append is refused by its position and goes again: on a quiet machine 1 gave 3.3 times
    /// the PutItem rate of 4 at less than half the p99 (docs/blob-durability.md, "Measured").
    /// </summary>
    public int AppendsInFlight { get; set; } = 1;

    /// <summary>
    /// Blocks after which a change-log segment's append blob asks the log for a new segment, at least 100; Azure
    /// allows 50,000 per append blob. Default: 45,000.
    /// </summary>
    public int LogBlobBlocks { get; set; } = 45_000;

    /// <summary>Where the lease wait and takeover are reported (set by the host to its logger; not a setting).</summary>
    public Action<string>? Log { get; set; }
}
