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
    public Task UploadIndexFilesAsync(IEnumerable<string> paths, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = Transfers, CancellationToken = cancellationToken }, async (path, ct) =>
            await _bulk.GetBlobClient(IndexName(Path.GetFileName(path))).UploadAsync(path, overwrite: true, ct).ConfigureAwait(false));

    /// <summary>Uploads the checkpoint's item snapshot (not yet the manifest that makes it the latest).</summary>
    public async Task UploadSnapshotFileAsync(string path, ulong replayFrom, CancellationToken cancellationToken) =>
        await _bulk.GetBlobClient(SnapshotName(replayFrom)).UploadAsync(path, overwrite: true, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Uploads the manifest (the commit point: it names the index files, and its replay point names the snapshot), then
    /// deletes what it made unnecessary: every other snapshot, and index files it does not name (compacted away, or orphans of a
    /// checkpoint that died before its manifest).
    /// </summary>
    public async Task CommitManifestAsync(byte[] sealedManifest, ulong replayFrom, IReadOnlySet<string> indexFiles, CancellationToken cancellationToken)
    {
        await _bulk.GetBlobClient(ManifestBlob).UploadAsync(BinaryData.FromBytes(sealedManifest), overwrite: true, cancellationToken).ConfigureAwait(false);
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
            await _bulk.DeleteBlobIfExistsAsync(name, cancellationToken: ct).ConfigureAwait(false));
    }

    /// <summary>Downloads every log segment into <paramref name="directory"/>, several at once.</summary>
    public async Task DownloadLogAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var names = new List<string>();
        await foreach (var item in _bulk.GetBlobsAsync(new GetBlobsOptions { Prefix = LogPrefix }, cancellationToken).ConfigureAwait(false)) names.Add(item.Name);
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = Transfers, CancellationToken = cancellationToken }, async (name, ct) =>
            await _bulk.GetBlobClient(name).DownloadToAsync(Path.Combine(directory, name[LogPrefix.Length..]), ct).ConfigureAwait(false));
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
