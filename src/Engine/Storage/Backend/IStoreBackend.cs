using Serverless.Engine.Persistence;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>
/// Where a store's durable state lives: the one interface <see cref="StoreOpener"/> and <see cref="Checkpointer"/>
/// use, so neither knows which backend it runs on. <see cref="DirectoryBackend"/>: the data directory holds the
/// truth (FASTER checkpoints, the manifest file). <see cref="BlobBackend"/>: a blob container holds it (snapshots,
/// index files, the manifest, the shipped log) and the data directory is only a cache. What the engine does in
/// between (FASTER, the change log, the index runs on the local disk, replay) is the same on both.
/// </summary>
internal interface IStoreBackend : IAsyncDisposable
{
    /// <summary>The local directory the engine works in: FASTER's files, the change log, index runs, backups.</summary>
    string Root { get; }

    /// <summary>The blob container, for backups and the banner; null when the data directory is the store.</summary>
    BlobPersistence? Blob { get; }

    /// <summary>
    /// Takes ownership of the store (the blob lease), opens its data key, and returns the latest checkpoint's
    /// manifest (null before the first) with its index files present under <c>index/</c>.
    /// </summary>
    Task<(StoreCipher Cipher, MasterKeys Keys, StoreManifest? Manifest)> OpenAsync(EncryptionOptions encryption, CancellationToken cancellationToken);

    /// <summary>
    /// Loads the checkpoint's items into the newly opened FASTER store, and has the change log after it in the local
    /// directory once this completes.
    /// </summary>
    Task LoadAsync(FasterStore store, StoreManifest? manifest, CancellationToken cancellationToken);

    /// <summary>
    /// What makes a logged write durable beyond the local log; null when the local log is the truth. Called once the
    /// log is open (its torn tail, if any, cut), before the first write.
    /// </summary>
    Task<LogShipper?> ShipAsync(ChangeLog log, TimeProvider time, CancellationToken cancellationToken);

    /// <summary>
    /// Makes a checkpoint durable: the items as of <see cref="CheckpointCommit.ReplayFrom"/>, the index files the
    /// checkpoint wrote, and then the manifest, which is the commit point. Returns the sequence number before which
    /// recovery no longer needs the log.
    /// </summary>
    Task<ulong> CommitAsync(CheckpointCommit commit, CancellationToken cancellationToken);

    /// <summary>The local log dropped the segments before its first one: drop their copies.</summary>
    Task LogTrimmedAsync(ChangeLog log, CancellationToken cancellationToken);
}

/// <summary>A checkpoint captured under the barrier, for <see cref="IStoreBackend.CommitAsync"/>.</summary>
internal sealed class CheckpointCommit
{
    public required ulong ReplayFrom { get; init; }

    public required uint NextTableNumber { get; init; }

    public required List<TableDefinition> Tables { get; init; }

    public required double CreatedAt { get; init; }

    public List<Index.PersistedIndex>? Indexes { get; init; }

    public List<uint>? PurgingTables { get; init; }

    public required FasterStore Store { get; init; }

    public required StoreCipher Cipher { get; init; }

    /// <summary>The local directory of the index files <see cref="Indexes"/> names.</summary>
    public required string IndexDirectory { get; init; }

    /// <summary>
    /// Completes once every change the store holds now is durable in the log (a copy of the items taken before this
    /// completes may reflect any of them). A backend awaits it after copying the items and before that copy can
    /// become recoverable (uploaded, or named by a manifest).
    /// </summary>
    public required Func<Task> AppliedChangesDurable { get; init; }

    /// <summary>The manifest of this checkpoint; <paramref name="fasterToken"/> names a FASTER checkpoint, if any.</summary>
    public StoreManifest Manifest(Guid fasterToken) => new()
    {
        FasterToken = fasterToken, ReplayFromLsn = ReplayFrom, NextTableNumber = NextTableNumber, Tables = Tables, CreatedAt = CreatedAt,
        Indexes = Indexes, PurgingTables = PurgingTables,
    };
}

/// <summary>Chooses the backend the options name.</summary>
internal static class StoreBackends
{
    public static IStoreBackend For(EngineOptions options, TimeProvider time)
    {
        var root = Path.GetFullPath(options.DataDirectory);
        return options.Blob.ConnectionString is { Length: > 0 }
            ? new BlobBackend(root, options.Blob, time)
            : new DirectoryBackend(root);
    }
}
