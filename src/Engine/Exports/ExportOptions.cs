namespace Serverless.Engine.Exports;

/// <summary>
/// Where exports are written and imports are read (section <c>Exports</c>: <c>Exports__Root</c>, …). An S3 bucket and
/// key name a folder and file under <see cref="Root"/>, or, with blob storage configured for the store, a blob
/// container named by the bucket and a blob named by the key.
/// </summary>
public sealed class ExportOptions
{
    /// <summary>Configuration section bound to this class.</summary>
    public const string Section = "Exports";

    /// <summary>
    /// Folder that stands in for S3: bucket <c>b</c>, key <c>k</c> is <c>&lt;Root&gt;/b/k</c>. Default: <c>&lt;data-dir&gt;/s3</c>;
    /// in memory-only mode <c>&lt;temp&gt;/serverless-dynamodb/s3</c>. Setting it also keeps exports in folders when the
    /// store is in blob storage.
    /// </summary>
    public string? Root { get; set; }

    /// <summary>
    /// A data file is closed and a new one started once this many uncompressed bytes were written to it, so no file
    /// (and no buffer) grows with the table. Default: 64 MiB.
    /// </summary>
    public long DataFileBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How many exports and imports may run at once; more wait their turn. Default: 2.</summary>
    public int Concurrency { get; set; } = 2;

    /// <summary>Smallest window of an incremental export (AWS: 15 minutes).</summary>
    public TimeSpan MinIncrementalWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Largest window of an incremental export (AWS: 24 hours).</summary>
    public TimeSpan MaxIncrementalWindow { get; set; } = TimeSpan.FromHours(24);

    public void Validate()
    {
        if (DataFileBytes < 1024) throw new ArgumentException("Exports.DataFileBytes must be at least 1024.");
        if (Concurrency is < 1 or > 64) throw new ArgumentException("Exports.Concurrency must be from 1 to 64.");
        if (MinIncrementalWindow < TimeSpan.Zero || MaxIncrementalWindow < MinIncrementalWindow)
            throw new ArgumentException("Exports.MinIncrementalWindow must not be negative nor larger than MaxIncrementalWindow.");
    }
}
