using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Serverless.Engine.Exports;

/// <summary>One object under a prefix: its key and size in bytes.</summary>
internal readonly record struct StoredObject(string Key, long Size);

/// <summary>
/// What stands in for S3: buckets of objects named by keys. A folder per bucket in the embedded default
/// (<see cref="FolderObjectStore"/>), a blob container per bucket with blob storage (<see cref="BlobObjectStore"/>).
/// Every call is synchronous: exports and imports run on background threads, never on a request.
/// </summary>
internal interface IObjectStore
{
    /// <summary>Where an object lives, for logs and messages (a path or a URL).</summary>
    string Describe(string bucket, string key);

    bool BucketExists(string bucket);

    /// <summary>Creates the bucket if needed (exports write into a bucket that may not exist yet).</summary>
    void EnsureBucket(string bucket);

    /// <summary>A stream that writes the object; it is complete when the stream is disposed.</summary>
    Stream Create(string bucket, string key);

    Stream OpenRead(string bucket, string key);

    /// <summary>The objects whose keys start with <paramref name="prefix"/>, in key order.</summary>
    IEnumerable<StoredObject> List(string bucket, string prefix);

    void Delete(string bucket, string key);
}

/// <summary>Buckets as folders under a root: object <c>k</c> of bucket <c>b</c> is the file <c>&lt;root&gt;/b/k</c>.</summary>
internal sealed class FolderObjectStore(string root) : IObjectStore
{
    public string Root { get; } = Path.GetFullPath(root);

    public string Describe(string bucket, string key) => PathOf(bucket, key);

    public bool BucketExists(string bucket) => Directory.Exists(BucketPath(bucket));

    public void EnsureBucket(string bucket) => Directory.CreateDirectory(BucketPath(bucket));

    public Stream Create(string bucket, string key)
    {
        var path = PathOf(bucket, key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
    }

    public Stream OpenRead(string bucket, string key) => new FileStream(PathOf(bucket, key), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);

    public IEnumerable<StoredObject> List(string bucket, string prefix)
    {
        var root = BucketPath(bucket);
        if (!Directory.Exists(root)) return [];
        var result = new List<StoredObject>();
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var key = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (key.StartsWith(prefix, StringComparison.Ordinal)) result.Add(new StoredObject(key, new FileInfo(file).Length));
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return result;
    }

    public void Delete(string bucket, string key) => File.Delete(PathOf(bucket, key));

    private string BucketPath(string bucket) => Path.Combine(Root, bucket);

    private string PathOf(string bucket, string key)
    {
        var bucketPath = Path.GetFullPath(BucketPath(bucket));
        var path = Path.GetFullPath(Path.Combine(bucketPath, key));
        if (path != bucketPath && !path.StartsWith(bucketPath + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ArgumentException($"The key '{key}' leaves its bucket.");
        return path;
    }
}

/// <summary>Buckets as blob containers of the store's storage account: object <c>k</c> of bucket <c>b</c> is blob <c>k</c> of container <c>b</c>.</summary>
internal sealed class BlobObjectStore : IObjectStore
{
    private readonly BlobServiceClient _service;

    public BlobObjectStore(string connectionString)
    {
        var options = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05);
        options.Retry.MaxRetries = 3;
        _service = new BlobServiceClient(connectionString, options);
    }

    public string Describe(string bucket, string key) => $"{_service.Uri}{bucket}/{key}";

    public bool BucketExists(string bucket) => Container(bucket).Exists().Value;

    public void EnsureBucket(string bucket) => Container(bucket).CreateIfNotExists();

    public Stream Create(string bucket, string key) =>
        Container(bucket).GetBlobClient(key).OpenWrite(overwrite: true, new BlobOpenWriteOptions { BufferSize = 4 * 1024 * 1024 });

    public Stream OpenRead(string bucket, string key) => Container(bucket).GetBlobClient(key).OpenRead();

    public IEnumerable<StoredObject> List(string bucket, string prefix)
    {
        var container = Container(bucket);
        if (!container.Exists().Value) yield break;
        foreach (var blob in container.GetBlobs(new GetBlobsOptions { Prefix = prefix }))
            yield return new StoredObject(blob.Name, blob.Properties.ContentLength ?? 0);
    }

    public void Delete(string bucket, string key)
    {
        try
        {
            Container(bucket).GetBlobClient(key).DeleteIfExists();
        }
        catch (RequestFailedException)
        {
            // Best effort: a leftover of a failed export is harmless.
        }
    }

    private BlobContainerClient Container(string bucket) => _service.GetBlobContainerClient(bucket);
}
