using Azure;
using Azure.Storage.Blobs.Models;

namespace Serverless.Engine.Persistence;

/// <summary>
/// The checkpoint's blobs: the item snapshot, the index files (immutable, uploaded once, deleted when no manifest
/// names them) and the manifest that commits them; and their download by a fresh instance. These go through the
/// patient bulk client (retries, 30 s timeouts): they move megabytes and no writer waits on them.
/// </summary>
public sealed partial class BlobPersistence
{
    /// <summary>For the fence test only: holds a checkpoint between its manifest and its deletes while armed.</summary>
    private static readonly FaultHook s_holdBeforeDeletes = new("SERVERLESS_TEST_HOLD_BEFORE_DELETES");

    /// <summary>The prefix of the index files: <c>index/{file name}</c>, the same name as on the local disk.</summary>
    public const string IndexPrefix = "index/";

    private const string SnapshotPrefix = "snapshots/";
    private const string LogPrefix = "log/";

    /// <summary>How many blobs a fresh instance downloads (or a checkpoint uploads) at once.</summary>
    private const int Transfers = 8;

    public static string IndexName(string fileName) => IndexPrefix + fileName;

    /// <summary>The sealed manifest, or null when the container holds none.</summary>
    public async Task<byte[]?> ReadManifestAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await _bulk.GetBlobClient(ManifestBlob).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Uploads index files (runs and collection files) whose names no manifest may have named yet.</summary>
    public async Task UploadIndexFilesAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken)
    {
        if (paths.Count == 0) return;
        await EnsureOwnerAsync(cancellationToken).ConfigureAwait(false);
        await Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = Transfers, CancellationToken = cancellationToken }, async (path, ct) =>
            await _bulk.GetBlobClient(IndexName(Path.GetFileName(path))).UploadAsync(path, overwrite: true, ct).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>Uploads the checkpoint's item snapshot (not yet the manifest that makes it the latest).</summary>
    public async Task UploadSnapshotFileAsync(string path, ulong replayFrom, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken).ConfigureAwait(false);
        await _bulk.GetBlobClient(SnapshotName(replayFrom)).UploadAsync(path, overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Uploads the manifest (the commit point: it names the index files, and its replay point names the snapshot), then
    /// deletes what it made unnecessary: every other snapshot, and index files it does not name (compacted away, or orphans of a
    /// checkpoint that died before its manifest). The manifest is written only over the one this instance wrote last
    /// (its ETag, see <see cref="FenceManifestAsync"/>), so an instance that lost the store to another commits nothing and
    /// deletes nothing; the deletes are conditional on the manifest's time (below), so an instance frozen after its
    /// manifest deletes nothing another instance wrote since.
    /// </summary>
    public async Task CommitManifestAsync(byte[] sealedManifest, ulong replayFrom, IReadOnlySet<string> indexFiles, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken).ConfigureAwait(false);
        DateTimeOffset committedAt;
        try
        {
            var written = await _bulk.GetBlobClient(ManifestBlob).UploadAsync(BinaryData.FromBytes(sealedManifest),
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfMatch = _manifestETag } }, cancellationToken).ConfigureAwait(false);
            _manifestETag = written.Value.ETag;
            committedAt = written.Value.LastModified;
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            // A retry of this very write whose first reply was lost finds its own ETag changed: not a lost store.
            var current = (await _bulk.GetBlobClient(ManifestBlob).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
            if (!current.Content.ToMemory().Span.SequenceEqual(sealedManifest))
            {
                _leaseLost = true;
                throw LostLease(e);
            }

            _manifestETag = current.Details.ETag;
            committedAt = current.Details.LastModified;
        }

        // The deletes are fenced by the service's clock, not by another renewal (which would only narrow the window):
        // a blob is deleted only if it was last written a whole second before this manifest (Last-Modified has
        // whole seconds). An instance that took the store over did so after this manifest, so everything it wrote
        // (its snapshots, its index files) is younger and is kept even if this instance, frozen here, lost the
        // lease long ago. What it spares of its own (written within that second) goes at the next checkpoint.
        await s_holdBeforeDeletes.HoldWhileArmedAsync(cancellationToken).ConfigureAwait(false);
        var fence = new BlobRequestConditions { IfUnmodifiedSince = committedAt.AddSeconds(-1) };
        var snapshot = SnapshotName(replayFrom);
        var doomed = new List<string>();
        await foreach (var item in _bulk.GetBlobsAsync(new GetBlobsOptions { Prefix = SnapshotPrefix }, cancellationToken).ConfigureAwait(false))
        {
            if (item.Name != snapshot) doomed.Add(item.Name); // older ones, and any of a checkpoint that died before its manifest
        }

        await foreach (var item in _bulk.GetBlobsAsync(new GetBlobsOptions { Prefix = IndexPrefix }, cancellationToken).ConfigureAwait(false))
        {
            if (!indexFiles.Contains(item.Name[IndexPrefix.Length..])) doomed.Add(item.Name);
        }

        await Parallel.ForEachAsync(doomed, new ParallelOptions { MaxDegreeOfParallelism = Transfers, CancellationToken = cancellationToken }, async (name, ct) =>
        {
            try
            {
                await _bulk.DeleteBlobIfExistsAsync(name, DeleteSnapshotsOption.None, fence, ct).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                // Written after the fence: kept.
            }
        }).ConfigureAwait(false);
    }


    /// <summary>The metadata of a log blob cut back after a torn tail (<see cref="CutLogAsync"/>): its valid length in bytes.</summary>
    public const string ValidLengthMetadata = "validlength";

    /// <summary>
    /// Downloads every log segment into <paramref name="directory"/>, several at once; a segment whose blob records a
    /// valid length (<see cref="CutLogAsync"/>) is cut to it.
    /// </summary>
    public async Task DownloadLogAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var blobs = new List<(string Name, long? Valid)>();
        await foreach (var item in _bulk.GetBlobsAsync(new GetBlobsOptions { Prefix = LogPrefix, Traits = BlobTraits.Metadata }, cancellationToken).ConfigureAwait(false))
        {
            blobs.Add((item.Name, item.Metadata != null && item.Metadata.TryGetValue(ValidLengthMetadata, out var v)
                ? long.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : null));
        }

        await Parallel.ForEachAsync(blobs, new ParallelOptions { MaxDegreeOfParallelism = Transfers, CancellationToken = cancellationToken }, async (blob, ct) =>
        {
            var local = Path.Combine(directory, blob.Name[LogPrefix.Length..]);
            await _bulk.GetBlobClient(blob.Name).DownloadToAsync(local, ct).ConfigureAwait(false);
            if (blob.Valid is { } valid)
            {
                using var file = new FileStream(local, FileMode.Open, FileAccess.Write);
                file.SetLength(valid);
            }
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Cuts a log segment's blob to <paramref name="validLength"/> bytes (an append blob cannot shrink): deletes it when
    /// that is zero, records the length in its metadata otherwise. Nothing is appended to it afterwards.
    /// </summary>
    public async Task CutLogAsync(ulong segment, long validLength, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken).ConfigureAwait(false);
        var blob = _bulk.GetBlobClient(LogName(segment));
        if (validLength == 0)
        {
            await blob.DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return;
        }

        await blob.SetMetadataAsync(new Dictionary<string, string> { [ValidLengthMetadata] = validLength.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Brings the index files a manifest names into <paramref name="directory"/>, several at once. A file already
    /// there under its name is kept (names are unique and files immutable, and a download lands under its name only
    /// once complete), so an instance restarting on the same disk downloads nothing. A file missing from the
    /// container is skipped (the index checkpoint finds it absent and has the indexes rebuilt).
    /// </summary>
    public async Task DownloadIndexFilesAsync(string directory, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = Transfers, CancellationToken = cancellationToken }, async (name, ct) =>
        {
            var local = Path.Combine(directory, name);
            if (File.Exists(local)) return;
            var partial = local + ".part";
            try
            {
                await _bulk.GetBlobClient(IndexName(name)).DownloadToAsync(partial, ct).ConfigureAwait(false);
                File.Move(partial, local, overwrite: true);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                File.Delete(partial);
            }
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// The snapshot of the checkpoint that replays from <paramref name="replayFrom"/> (the manifest's), as a stream
    /// straight from the service (one request; reading it overlaps the transfer), with its name.
    /// </summary>
    public async Task<(Stream Content, string Name)> OpenSnapshotAsync(ulong replayFrom, CancellationToken cancellationToken)
    {
        var blob = _bulk.GetBlobClient(SnapshotName(replayFrom));
        try
        {
            var download = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return (download.Value.Content, blob.Uri.ToString());
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new InvalidDataException($"The manifest names the snapshot {blob.Uri}, which the container does not hold.", e);
        }
    }
}
