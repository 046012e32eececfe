using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Serverless.Replicator.GlobalTables.ClaimCheck;

/// <summary>
/// The claim check's blobs in one storage account: the bodies of replication messages longer than an Azure Storage
/// queue message, in container <see cref="Container"/> of the destination queue's account, named
/// <c>{target}/{table}/{source}/{fromLsn}-{guid}</c>. The sender uploads one before enqueueing its pointer; the
/// receiver downloads it, handles it, and deletes it; a sweep deletes the ones a pointer never reached.
/// </summary>
public sealed class ReplicationPayloads
{
    /// <summary>The container of the payload blobs (created on the first upload).</summary>
    public const string Container = "ddb-replication-payloads";

    private readonly BlobContainerClient _container;

    public ReplicationPayloads(string connectionString)
    {
        var options = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2025_11_05);
        // The queue function applies one message at a time: a blob call that hangs must not hold up the queue.
        options.Retry.MaxRetries = 3;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        _container = new BlobContainerClient(connectionString, Container, options);
    }

    /// <summary>A name no other message has: the target first, so each region's host sweeps only its own.</summary>
    public static string NameOf(ReplicationMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return $"{PrefixOf(message.Target)}{message.Table}/{message.Source}/{message.FromLsn}-{Guid.NewGuid():N}";
    }

    /// <summary>Where the payloads sent to <paramref name="region"/> are.</summary>
    public static string PrefixOf(string region) => region + "/";

    public async Task UploadAsync(string name, string text, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(name);
        var content = BinaryData.FromString(text);
        try
        {
            await blob.UploadAsync(content, overwrite: true, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await blob.UploadAsync(content, overwrite: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The message's JSON; null when the blob is gone (its message was applied and the blob deleted).</summary>
    public async Task<string?> DownloadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return (await _container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToString();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken) =>
        _container.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    /// <summary>Deletes the blobs under <paramref name="prefix"/> last written before <paramref name="cutoff"/>; returns how many.</summary>
    public async Task<int> DeleteOlderThanAsync(string prefix, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var deleted = 0;
        try
        {
            await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
            {
                if (item.Properties.LastModified is not { } modified || modified >= cutoff) continue;
                if ((await _container.GetBlobClient(item.Name).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value) deleted++;
            }
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            // No payload was ever sent to this account.
        }

        return deleted;
    }
}
