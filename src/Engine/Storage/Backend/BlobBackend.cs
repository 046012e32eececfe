using System.Text.Json;
using Serverless.Engine.Persistence;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>
/// A blob container is the store (<see cref="BlobPersistence"/>; docs/architecture.md, "Blob storage, as built"):
/// the local directory, <c>&lt;data-dir&gt;/blob-cache/&lt;container&gt;</c>, is a cache rebuilt at every start.
/// <list type="bullet">
/// <item>Opening takes the single-writer lease, discards the local store and log, and downloads, all at once: the
/// manifest's index files (kept when already on the local disk), the log segments, the backups, and the manifest's
/// snapshot, which is loaded into FASTER as it arrives.</item>
/// <item>A checkpoint uploads the item snapshot (once every change it may hold is shipped) and the index files no
/// manifest named yet (runs are immutable: each is uploaded once), then the manifest, which commits them; then
/// deletes the other snapshots and the index files the manifest no longer names. No FASTER checkpoint is taken: the
/// local files are never recovered from.</item>
/// </list>
/// </summary>
internal sealed class BlobBackend : IStoreBackend
{
    private readonly string _root;
    private readonly BlobOptions _options;
    private readonly BlobPersistence _blob;

    /// <summary>Index files the container holds (named by the last manifest, or uploaded since).</summary>
    private readonly HashSet<string> _uploaded = new(StringComparer.Ordinal);

    private StoreCipher? _cipher;
    private Task _downloads = Task.CompletedTask;
    private LogShipper? _shipper;

    public BlobBackend(string dataDirectory, BlobOptions options, TimeProvider time)
    {
        // Apart from an embedded store that may live in the same data directory, so switching a setting never wipes it.
        _root = Path.Combine(dataDirectory, "blob-cache", options.Container);
        _options = options;
        _blob = new BlobPersistence(options, time);
    }

    public string Root => _root;

    public BlobPersistence Blob => _blob;

    BlobPersistence? IStoreBackend.Blob => _blob;

    private string IndexDirectory => Path.Combine(_root, "index");

    public async Task<(StoreCipher Cipher, MasterKeys Keys, StoreManifest? Manifest)> OpenAsync(EncryptionOptions encryption, CancellationToken cancellationToken)
    {
        await _blob.AcquireAsync(cancellationToken).ConfigureAwait(false);
        var (cipher, keys) = await StoreKeyring.OpenAsync(encryption, _blob, _blob.HoldsStoreAsync, cancellationToken).ConfigureAwait(false);
        _cipher = cipher;
        foreach (var dir in new[] { "store", "changelog" })
        {
            if (Directory.Exists(Path.Combine(_root, dir))) Directory.Delete(Path.Combine(_root, dir), recursive: true);
        }

        foreach (var file in new[] { Checkpointer.ManifestFile, "snapshot.snap", UploadFile }) File.Delete(Path.Combine(_root, file));
        var json = await _blob.ReadManifestAsync(cancellationToken).ConfigureAwait(false);
        var manifest = json is { Length: > 0 }
            ? JsonSerializer.Deserialize(SealedFile.Open(json, cipher, SealedKind.Manifest, _blob.Describe + "/" + BlobPersistence.ManifestBlob), StorageJsonContext.Default.StoreManifest)
            : null;
        var files = Index.PersistedIndex.FileNames(manifest?.Indexes);
        _uploaded.UnionWith(files);

        // Everything but the snapshot travels while the snapshot is loaded (LoadAsync waits for it all). An index file
        // the container lacks is left out: the index checkpoint then finds it missing and has the indexes rebuilt.
        _downloads = Task.WhenAll(
            _blob.DownloadLogAsync(Path.Combine(_root, "changelog"), cancellationToken),
            _blob.DownloadBackupsAsync(Path.Combine(_root, "backups"), cancellationToken),
            _blob.DownloadIndexFilesAsync(IndexDirectory, files, cancellationToken));
        return (cipher, keys, manifest);
    }

    public async Task LoadAsync(FasterStore store, StoreManifest? manifest, CancellationToken cancellationToken)
    {
        try
        {
            // Without a manifest there is no snapshot to trust (a container whose first checkpoint never committed). With
            // one, the snapshot is the one it names (by its replay point), never a newer one a checkpoint uploaded and
            // died before committing: the manifest's indexes and replay point belong to its own snapshot.
            if (manifest != null)
            {
                var snapshot = await _blob.OpenSnapshotAsync(manifest.ReplayFromLsn, cancellationToken).ConfigureAwait(false);
                await using (snapshot.Content.ConfigureAwait(false))
                {
                    var replayFrom = await Task.Run(() => SnapshotFile.Read(snapshot.Content, snapshot.Name, _cipher!, (key, value) => store.Upsert(key.Span, value.Span)), cancellationToken)
                        .ConfigureAwait(false);
                    if (replayFrom != manifest.ReplayFromLsn)
                        throw new InvalidDataException($"The snapshot {snapshot.Name} replays from {replayFrom}, its manifest from {manifest.ReplayFromLsn}.");
                }
            }
        }
        finally
        {
            await _downloads.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts shipping at the local log's end. When the last segment's blob is longer, a dead owner shipped a backlog
    /// over <see cref="PipelinedAppender.MaxAppendBytes"/> in pieces and died between them: the blob ends inside a
    /// record, which the open cut locally. Appending at the shorter local offset would be refused and the bytes the
    /// blob holds there taken for the new ones (issue 13: acknowledged, then lost), so the blob is cut too: a blob with
    /// no whole record is deleted (its first append starts it again); any other gets its valid length recorded in its
    /// metadata, which downloads honour, and the local log rolls, so the next record starts a new segment and blob.
    /// </summary>
    public async Task<LogShipper> ShipAsync(ChangeLog log, TimeProvider time, CancellationToken cancellationToken)
    {
        var tail = log.Tail;
        var (length, _) = await _blob.LogTarget.StateAsync(tail.Segment, cancellationToken).ConfigureAwait(false);
        if (length > tail.Offset)
        {
            await _blob.CutLogAsync(tail.Segment, tail.Offset, cancellationToken).ConfigureAwait(false);
            if (tail.Offset > 0) log.RequestRoll();
            _options.Log?.Invoke(FormattableString.Invariant(
                $"The log blob {BlobPersistence.LogName(tail.Segment)} ended inside a record at byte {length} (a backlog shipped in pieces by an owner that died between them); cut at byte {tail.Offset}."));
        }

        return _shipper = new LogShipper(log, _blob, _options, time);
    }

    async Task<LogShipper?> IStoreBackend.ShipAsync(ChangeLog log, TimeProvider time, CancellationToken cancellationToken) =>
        await ShipAsync(log, time, cancellationToken).ConfigureAwait(false);

    private const string UploadFile = "upload.snap";

    public async Task<ulong> CommitAsync(CheckpointCommit commit, CancellationToken cancellationToken)
    {
        var files = Index.PersistedIndex.FileNames(commit.Indexes);
        var fresh = new List<string>();
        foreach (var f in files)
        {
            if (!_uploaded.Contains(f)) fresh.Add(Path.Combine(commit.IndexDirectory, f));
        }

        // The snapshot is fuzzy (writes go on) and made exact by replay from ReplayFrom; the index files travel meanwhile.
        // It is uploaded only once every change it may hold is in the log blobs, which replay reads: a change it holds
        // whose record never shipped would come back after a crash, out of step with the indexes.
        var snapshot = Path.Combine(_root, UploadFile);
        var items = Task.Run(async () =>
        {
            SnapshotFile.Write(snapshot, commit.ReplayFrom, commit.Store, commit.Cipher);
            await commit.AppliedChangesDurable().ConfigureAwait(false);
            await _blob.UploadSnapshotFileAsync(snapshot, commit.ReplayFrom, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
        try
        {
            await Task.WhenAll(items, _blob.UploadIndexFilesAsync(fresh, cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(snapshot);
        }

        foreach (var path in fresh) _uploaded.Add(Path.GetFileName(path));
        Index.IndexCheckpoint.TestHookBeforeManifest();
        var manifest = SealedFile.Seal(commit.Cipher, SealedKind.Manifest,
            JsonSerializer.SerializeToUtf8Bytes(commit.Manifest(Guid.Empty), StorageJsonContext.Default.StoreManifest));
        await _blob.CommitManifestAsync(manifest, commit.ReplayFrom, files, cancellationToken).ConfigureAwait(false);
        _uploaded.IntersectWith(files);

        // The log blobs must still hold every record not yet shipped, whatever the snapshot covers.
        return Math.Min(commit.ReplayFrom, (_shipper?.ShippedLsn ?? 0) + 1);
    }

    public Task LogTrimmedAsync(ChangeLog log, CancellationToken cancellationToken) =>
        log.Segments.Count > 0 ? _blob.DeleteLogBeforeAsync(log.Segments[0].FirstLsn, cancellationToken) : Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _downloads.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A start that failed: the failure was reported there.
        }

        await _blob.DisposeAsync().ConfigureAwait(false);
    }
}
