namespace Serverless.Engine.Cache;

/// <summary>
/// Settings of the DAX-style cache clusters (configuration section <c>Cache</c>: <c>Cache__MemoryBytes</c>, …).
/// Cluster definitions themselves are made through the DAX control plane and kept in the data directory.
/// </summary>
public sealed class CacheOptions
{
    public const string Section = "Cache";

    /// <summary>
    /// Memory of each cluster's cache, in bytes, counted over cached keys, request bodies and response bytes plus a
    /// fixed overhead per entry; past it the least recently used entries are evicted. Default: 64 MiB.
    /// </summary>
    public long MemoryBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Base URL reported in a cluster's <c>ClusterDiscoveryEndpoint</c> (for a host behind a proxy), for example
    /// <c>https://ddb.example.com</c>. Unset: the scheme and Host header of the DescribeClusters request itself.
    /// </summary>
    public string? EndpointBaseUrl { get; set; }

    public void Validate()
    {
        if (MemoryBytes < 64 * 1024) throw new ArgumentException("Cache.MemoryBytes must be at least 65536.");
        if (EndpointBaseUrl is { Length: > 0 } url && !Uri.TryCreate(url, UriKind.Absolute, out _))
            throw new ArgumentException("Cache.EndpointBaseUrl must be an absolute URL.");
    }
}
