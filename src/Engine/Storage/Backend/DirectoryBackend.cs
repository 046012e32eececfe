using System.Text.Json;
using Serverless.Engine.Persistence;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>
/// The data directory is the store: a checkpoint is a FASTER snapshot checkpoint plus <c>manifest.json</c> written
/// atomically beside it; opening recovers FASTER from the checkpoint the manifest names.
/// </summary>
internal sealed class DirectoryBackend(string root) : IStoreBackend
{
    public string Root => root;

    public BlobPersistence? Blob => null;

    public async Task<(StoreCipher Cipher, MasterKeys Keys, StoreManifest? Manifest)> OpenAsync(EncryptionOptions encryption, CancellationToken cancellationToken)
    {
        var (cipher, keys) = await StoreKeyring.OpenAsync(encryption, new DirectoryKeyLocation(root), _ => Task.FromResult(HoldsStore()), cancellationToken)
            .ConfigureAwait(false);
        var path = Path.Combine(root, Checkpointer.ManifestFile);
        var manifest = File.Exists(path)
            ? JsonSerializer.Deserialize(SealedFile.ReadFile(path, cipher, SealedKind.Manifest), StorageJsonContext.Default.StoreManifest)
            : null;
        return (cipher, keys, manifest);
    }

    public Task LoadAsync(FasterStore store, StoreManifest? manifest, CancellationToken cancellationToken)
    {
        if (manifest != null && manifest.FasterToken != Guid.Empty) store.Recover(manifest.FasterToken);
        return Task.CompletedTask;
    }

    public Task<LogShipper?> ShipAsync(ChangeLog log, TimeProvider time, CancellationToken cancellationToken) => Task.FromResult<LogShipper?>(null);

    public async Task<ulong> CommitAsync(CheckpointCommit commit, CancellationToken cancellationToken)
    {
        var token = await commit.Store.CheckpointAsync(cancellationToken).ConfigureAwait(false);
        // The FASTER checkpoint may hold changes made after the replay point: their records must be durable before a
        // manifest makes it the one recovery loads.
        await commit.AppliedChangesDurable().ConfigureAwait(false);
        Index.IndexCheckpoint.TestHookBeforeManifest();
        var json = JsonSerializer.SerializeToUtf8Bytes(commit.Manifest(token), StorageJsonContext.Default.StoreManifest);
        SealedFile.WriteAtomically(Path.Combine(root, Checkpointer.ManifestFile), commit.Cipher, SealedKind.Manifest, json);
        commit.Store.PurgeCheckpointsExcept(token);
        return commit.ReplayFrom;
    }

    public Task LogTrimmedAsync(ChangeLog log, CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Whether the data directory already holds a store (then it must have its key file).</summary>
    private bool HoldsStore() =>
        File.Exists(Path.Combine(root, Checkpointer.ManifestFile))
        || (Directory.Exists(Path.Combine(root, "changelog")) && Directory.EnumerateFiles(Path.Combine(root, "changelog"), "*.log").Any(f => new FileInfo(f).Length > 0));
}
