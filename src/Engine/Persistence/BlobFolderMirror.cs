using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Persistence;

/// <summary>
/// A local folder mirrored in blob storage (the cloud backend), used by Kinesis and the DAX control plane. For Kinesis, every file under <c>{data}/kinesis/</c> has a blob of the same
/// relative name under <c>kinesis/</c> in the store's container. A shard segment is an append blob, and a record's
/// frame is appended to it (group commit, <see cref="PipelinedAppender"/>) before PutRecord is acknowledged, so an instance that loses its disk loses no acknowledged
/// record: a fresh instance downloads the catalog and the segments before it opens the streams. The catalog and the
/// delivery checkpoint are uploaded whole on every change. Segments roll before Azure's 50,000 blocks per append blob.
/// The DAX control plane's state (src/Engine/Cache) is mirrored the same way, under <c>dax/</c>, and so are the export
/// and import records (src/Engine/Exports), under <c>jobs/</c>.
/// </summary>
public sealed class BlobFolderMirror
{
    /// <summary>Frames per segment, kept under the append-blob block limit (50,000) with room for the header.</summary>
    public const int MaxFramesPerSegment = 40_000;

    private readonly string _prefix;
    private readonly BlobContainerClient _container;
    private readonly string _root;

    /// <summary>Mirrors the folder <paramref name="root"/> under <paramref name="prefix"/> (with its trailing slash) in the store's container.</summary>
    public BlobFolderMirror(BlobOptions options, string root, string prefix = "kinesis/")
    {
        _prefix = prefix;
        var clientOptions = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05);
        clientOptions.Retry.MaxRetries = 2;
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        _container = new BlobContainerClient(options.ConnectionString, options.Container, clientOptions);
        _container.CreateIfNotExists();
        AppendsInFlight = options.AppendsInFlight;
        _root = Path.GetFullPath(root);
    }

    /// <summary>Change-log appends in flight at once, which segment appends use too (<see cref="BlobOptions.AppendsInFlight"/>).</summary>
    public int AppendsInFlight { get; }

    /// <summary>
    /// The append blobs of one folder of segment files (a shard), for its <see cref="PipelinedAppender"/>:
    /// <paramref name="localPathOf"/> names a segment's local file, whose mirrored name is its blob's. It keeps the
    /// mirror's SDK retries, as before: they are safe, since every append names its position and a retry of one that
    /// landed counts as done.
    /// </summary>
    public AppendBlobTarget SegmentTarget(Func<ulong, string> localPathOf) => new(_container, segment => NameOf(localPathOf(segment)));

    /// <summary>Replaces a whole small file's blob (the catalog, the delivery checkpoint).</summary>
    public void Upload(string localPath, byte[] bytes) =>
        Guard(() => _container.GetBlobClient(NameOf(localPath)).Upload(BinaryData.FromBytes(bytes), overwrite: true));

    public void Delete(string localPath) => _container.DeleteBlobIfExists(NameOf(localPath));

    /// <summary>Deletes every blob under a local folder (a deleted stream).</summary>
    public void DeleteFolder(string localFolder)
    {
        var prefix = NameOf(localFolder).TrimEnd('/') + "/";
        foreach (var item in _container.GetBlobs(new GetBlobsOptions { Prefix = prefix })) _container.DeleteBlobIfExists(item.Name);
    }

    /// <summary>
    /// Downloads every Kinesis blob that has no local file (a fresh instance, or a lost disk), so the streams open
    /// from the local copy as usual. Returns how many files it wrote.
    /// </summary>
    public int Restore()
    {
        var written = 0;
        foreach (var item in _container.GetBlobs(new GetBlobsOptions { Prefix = _prefix }))
        {
            var local = Path.Combine(_root, item.Name[_prefix.Length..].Replace('/', Path.DirectorySeparatorChar));
            if (File.Exists(local)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            _container.GetBlobClient(item.Name).DownloadTo(local);
            written++;
        }

        return written;
    }

    private string NameOf(string localPath) =>
        _prefix + Path.GetRelativePath(_root, Path.GetFullPath(localPath)).Replace(Path.DirectorySeparatorChar, '/');

    private static void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is RequestFailedException or IOException or TimeoutException or AggregateException or OperationCanceledException)
        {
            throw DynamoErrors.ServiceUnavailable("Blob storage is unreachable: the change is not durable, so it is not acknowledged. " + e.Message);
        }
    }
}
