using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Persistence;

/// <summary>
/// The store in a blob container (Azure, or Azurite locally). Layout:
/// <code>
///   owner.lease                  empty blob whose lease makes one instance the writer
///   log/{firstLsn:D20}.log       append blobs: the change-log segments, byte for byte as on the local disk
///   snapshots/{replayFrom:D20}.snap   item snapshots (<see cref="SnapshotFile"/>)
///   index/{guid:N}.run           the ordered indexes' immutable runs, byte for byte as on the local disk
///   index/{guid:N}.col           item-collection sizes beside them (both named by the manifest's Indexes)
///   manifest.json                the latest snapshot, the catalog and the indexes (<see cref="Storage.StoreManifest"/> JSON, sealed)
///   backups/{name}.bak           backup files, as on the local disk
///   store.key                    the store's data key, wrapped by the master key (<see cref="StoreKeyFile"/>)
///   master.key                   only when no master key is configured: the store's generated master key
/// </code>
/// Every blob but the lease, the key files and the generated master key holds bytes encrypted with the store's
/// data key (the log segments, snapshots and backups are copies of the encrypted local files).
/// A write is acknowledged only after its log bytes are appended here (<see cref="LogShipper"/>), so an instance
/// that loses its disk loses nothing acknowledged: a new one downloads the snapshot and the log after it.
/// </summary>
public sealed partial class BlobPersistence : IAsyncDisposable, IKeyLocation
{
    private const string LeaseBlob = "owner.lease";
    public const string ManifestBlob = "manifest.json";

    /// <summary>How often a waiting instance asks for the lease again.</summary>
    private static readonly TimeSpan LeasePoll = TimeSpan.FromSeconds(1);

    private readonly BlobContainerClient _container;
    private readonly BlobContainerClient _bulk;
    private readonly BlobOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private BlobLeaseClient? _lease;
    private Task? _renewal;
    private volatile bool _leaseLost;

    /// <summary>The manifest blob's ETag as this instance last wrote it: the condition of its next manifest write.</summary>
    private ETag _manifestETag;

    /// <param name="options">The container and the lease settings.</param>
    /// <param name="time">
    /// The clock of the lease timing (renewal periods, the wait for a dead owner's lease). Only its monotonic
    /// timestamps and timers are used, because the lease itself expires on the storage service's clock: a test
    /// clock moved forward (<c>POST /admin/clock/advance</c>) must not make this instance think its lease is lost.
    /// </param>
    public BlobPersistence(BlobOptions options, TimeProvider? time = null)
    {
        _options = options;
        _time = time ?? TimeProvider.System;
        var clientOptions = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05);
        // Fail fast: a writer waits for its append, and an outage must turn into a refused write, not a hung one.
        // (The shipper itself retries a failed append on its next round, from the same position.)
        clientOptions.Retry.MaxRetries = 0;
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(2);
        _container = new BlobContainerClient(options.ConnectionString, options.Container, clientOptions);

        // Checkpoint uploads and start-up downloads move megabytes and are no one's acknowledgement: a patient client.
        var bulkOptions = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05);
        bulkOptions.Retry.MaxRetries = 3;
        bulkOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        _bulk = new BlobContainerClient(options.ConnectionString, options.Container, bulkOptions);
    }

    /// <summary>False once the lease could not be renewed: this instance must not acknowledge writes any more.</summary>
    public bool OwnsStore => _lease != null && !_leaseLost;

    public string Describe => $"{_container.Uri}";

    /// <summary>
    /// Takes the single-writer lease. When another instance holds it, this waits up to one lease period
    /// (<see cref="BlobOptions.LeaseSeconds"/>) for it to expire, which is what a crashed owner's lease does, and
    /// then takes the store over; a lease still held after that is renewed by a live owner, and this fails with a
    /// clear message. With <see cref="BlobOptions.Standby"/> it waits as long as it takes instead.
    /// </summary>
    public async Task AcquireAsync(CancellationToken cancellationToken)
    {
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var blob = _container.GetBlobClient(LeaseBlob);
        try
        {
            await blob.UploadAsync(BinaryData.FromBytes([]), overwrite: false, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            // Exists already (and may be leased).
        }

        var lease = blob.GetBlobLeaseClient();
        var period = TimeSpan.FromSeconds(_options.LeaseSeconds);
        long? waitingSince = null;
        while (true)
        {
            try
            {
                await lease.AcquireAsync(period, cancellationToken: cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (RequestFailedException e) when (e.Status == 409)
            {
                if (waitingSince is null)
                {
                    waitingSince = _time.GetTimestamp();
                    _options.Log?.Invoke(_options.Standby
                        ? $"The store's lease (blob container '{_options.Container}') is held by another instance; waiting as a standby until it is free (Engine__Blob__Standby=true)."
                        : $"The store's lease (blob container '{_options.Container}') is held by another instance; waiting up to {_options.LeaseSeconds} s for it to expire (a crashed owner's lease runs out within one lease period).");
                }

                // The owner's lease was last renewed before this instance started, so a dead owner's lease has run out
                // one period after the first refusal. One more poll allows for the requests' own latency.
                if (!_options.Standby && _time.GetElapsedTime(waitingSince.Value) > period + LeasePoll)
                    throw new InvalidOperationException(
                        $"The store in blob container '{_options.Container}' is owned by another instance: its lease was still held after "
                        + $"{_options.LeaseSeconds} s (Engine__Blob__LeaseSeconds), so its owner is alive and renewing it. "
                        + "Stop that instance, or start this one with Engine__Blob__Standby=true to wait as a standby.");
                await Task.Delay(_options.Standby ? 2 * LeasePoll : LeasePoll, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        if (waitingSince is { } since)
            _options.Log?.Invoke(FormattableString.Invariant(
                $"Took over the store in blob container '{_options.Container}' after waiting {_time.GetElapsedTime(since).TotalSeconds:F1} s: the previous owner's lease expired."));
        _lease = lease;
        _renewal = Task.Run(RenewLoopAsync, CancellationToken.None);
        await FenceManifestAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fences out every earlier owner (issue 13): rewrites the manifest blob (the same bytes; an empty blob when there
    /// is none yet, which reads as no manifest) and keeps the new ETag, the condition of this instance's manifest
    /// writes. An earlier owner frozen past its lease writes its manifest on the ETag it knew, which this changed, so
    /// the service refuses it, and it deletes nothing: its deletes come only after a committed manifest.
    /// </summary>
    private async Task FenceManifestAsync(CancellationToken cancellationToken)
    {
        var blob = _bulk.GetBlobClient(ManifestBlob);
        while (true)
        {
            byte[] content = [];
            var conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
            try
            {
                var current = (await blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value;
                content = current.Content.ToArray();
                conditions = new BlobRequestConditions { IfMatch = current.Details.ETag };
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // No manifest yet.
            }

            try
            {
                var written = await blob.UploadAsync(BinaryData.FromBytes(content), new BlobUploadOptions { Conditions = conditions }, cancellationToken).ConfigureAwait(false);
                _manifestETag = written.Value.ETag;
                return;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412)
            {
                // The earlier owner committed meanwhile: fence its newer manifest.
            }
        }
    }

    /// <summary>
    /// The fence of every write to the container but the log appends (which check <see cref="OwnsStore"/> and name
    /// their position): renews the lease, which the service refuses once another instance holds it. Throws when this
    /// instance no longer owns the store.
    /// </summary>
    public async Task EnsureOwnerAsync(CancellationToken cancellationToken)
    {
        if (!OwnsStore) throw LostLease(null);
        try
        {
            await _lease!.RenewAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            _leaseLost = true;
            throw LostLease(e);
        }
    }

    private InvalidOperationException LostLease(Exception? cause) =>
        new($"This instance lost the lease of the store in blob container '{_options.Container}': another instance may own it now, so it writes nothing there.", cause);

    /// <summary>The log segments' append blobs, written only while this instance holds the lease (<see cref="LogShipper"/>).</summary>
    public AppendBlobTarget LogTarget => new(_container, LogName, () => !_leaseLost, EnsureOwnerAsync);

    public async Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return (await _container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task WriteAsync(string name, byte[] data, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken).ConfigureAwait(false);
        await _container.GetBlobClient(name).UploadAsync(BinaryData.FromBytes(data), overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    string IKeyLocation.Describe(string name) => $"{_container.Uri}/{name}";

    /// <summary>Whether the container already holds a store (a manifest or log segments).</summary>
    public async Task<bool> HoldsStoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            // An empty manifest is the fence of an owner whose first checkpoint has not committed yet.
            if ((await _container.GetBlobClient(ManifestBlob).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.ContentLength > 0) return true;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // No manifest.
        }

        await foreach (var _ in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = "log/" }, cancellationToken).ConfigureAwait(false)) return true;
        return false;
    }

    /// <summary>Uploads a backup file as <c>backups/{file name}</c>; backups outlive the instance's disk.</summary>
    public async Task UploadBackupAsync(string path, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken).ConfigureAwait(false);
        await _container.GetBlobClient("backups/" + Path.GetFileName(path)).UploadAsync(path, overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteBackupAsync(string fileName, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken).ConfigureAwait(false);
        await _container.DeleteBlobIfExistsAsync("backups/" + fileName, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Downloads the backups the local directory does not have yet.</summary>
    public async Task DownloadBackupsAsync(string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        await foreach (var item in _bulk.GetBlobsAsync(new GetBlobsOptions { Prefix = "backups/" }, cancellationToken).ConfigureAwait(false))
        {
            var local = Path.Combine(directory, item.Name["backups/".Length..]);
            if (!File.Exists(local)) await _bulk.GetBlobClient(item.Name).DownloadToAsync(local, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes log blobs of segments that the local log no longer holds and that precede it.</summary>
    public async Task DeleteLogBeforeAsync(ulong firstKeptSegment, CancellationToken cancellationToken)
    {
        await EnsureOwnerAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = "log/" }, cancellationToken).ConfigureAwait(false))
        {
            if (string.CompareOrdinal(item.Name, LogName(firstKeptSegment)) < 0)
                await _container.DeleteBlobIfExistsAsync(item.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_renewal != null) await _renewal.ConfigureAwait(false);
        if (_lease != null && !_leaseLost)
        {
            try
            {
                await _lease.ReleaseAsync().ConfigureAwait(false);
            }
            catch (RequestFailedException)
            {
                // Expired or taken meanwhile: nothing to release.
            }
        }

        _stop.Dispose();
    }

    public static string LogName(ulong segment) => $"log/{segment:D20}.log";

    public static string SnapshotName(ulong replayFrom) => $"snapshots/{replayFrom:D20}.snap";

    /// <summary>
    /// Renews the lease at a third of its duration; after a failed renewal it retries every second. Renewing still
    /// works after the lease expired as long as no one else leased the blob meanwhile, so an outage shorter than the
    /// lease costs nothing; only when a whole lease period passes without a renewal is the lease considered lost.
    /// </summary>
    private async Task RenewLoopAsync()
    {
        var period = TimeSpan.FromSeconds(_options.LeaseSeconds / 3.0);
        var duration = TimeSpan.FromSeconds(_options.LeaseSeconds);
        var lastRenewed = _time.GetTimestamp();
        var healthy = true;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(healthy ? period : LeasePoll, _time, _stop.Token).ConfigureAwait(false);
                await _lease!.RenewAsync(cancellationToken: _stop.Token).ConfigureAwait(false);
                lastRenewed = _time.GetTimestamp();
                healthy = true;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RequestFailedException or AggregateException or OperationCanceledException or HttpRequestException)
            {
                healthy = false;
                if (_time.GetElapsedTime(lastRenewed) < duration) continue;

                // A whole lease period without a renewal: another instance may own the store now.
                _leaseLost = true;
                return;
            }
        }
    }
}
