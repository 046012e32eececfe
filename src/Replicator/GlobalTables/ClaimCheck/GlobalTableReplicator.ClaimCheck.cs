using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Serverless.Engine.Storage;
using Serverless.Replicator.GlobalTables.ClaimCheck;
using Serverless.Replicator.Queues;

namespace Serverless.Replicator.GlobalTables;

/// <summary>
/// The claim check: a message longer than its destination queue takes (an Azure Storage queue message is 64 KiB;
/// DynamoDB items reach 400 KB) goes as a blob in that queue's storage account plus a small Payload message naming
/// it. The receiver handles the blob's message exactly as an inline one and deletes the blob afterwards.
/// </summary>
public sealed partial class GlobalTableReplicator
{
    /// <summary>How often this host looks for payload blobs that no pointer reached (by the engine's clock).</summary>
    private static readonly TimeSpan PayloadSweepInterval = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, ReplicationPayloads> _payloadStores = new(StringComparer.Ordinal);
    private DateTimeOffset _nextPayloadSweep = DateTimeOffset.MinValue;

    /// <summary>The claim check's counts, for <c>GET /admin/metrics</c>.</summary>
    public ClaimCheckMetrics ClaimChecks { get; } = new();

    /// <summary>A queue, its backend, and the payload blobs of its storage account (none for in-process queues, which take any length).</summary>
    private sealed record Route(string Queue, IMessageQueues Queues, ReplicationPayloads? Payloads);

    private ReplicationPayloads? PayloadsOf(IMessageQueues queues) =>
        queues is AzureStorageMessageQueues azure ? _payloadStores.GetOrAdd(azure.ConnectionString, c => new ReplicationPayloads(c)) : null;

    /// <summary>Enqueues the message inline when the queue takes its length, otherwise as a payload blob and a pointer to it.</summary>
    private async Task EnqueueAsync(Route route, ReplicationMessage message, CancellationToken cancellationToken)
    {
        var text = message.Serialize();
        var bytes = route.Payloads == null ? 0 : Encoding.UTF8.GetByteCount(text);
        if (route.Payloads is not { } payloads || bytes <= route.Queues.MaxMessageBytes)
        {
            await route.Queues.SendAsync(route.Queue, text, cancellationToken).ConfigureAwait(false);
            return;
        }

        var name = ReplicationPayloads.NameOf(message);
        await payloads.UploadAsync(name, text, cancellationToken).ConfigureAwait(false);
        // Stopped here, the blob has no pointer: the receiver's sweep deletes it after the change log's retention.
        var pointer = new ReplicationMessage
        {
            Type = MessageType.Payload, Source = message.Source, Target = message.Target, Table = message.Table, Blob = name,
            Copy = message.Copy, FromLsn = message.FromLsn, NextLsn = message.NextLsn, SentAt = message.SentAt,
        };
        await route.Queues.SendAsync(route.Queue, pointer.Serialize(), cancellationToken).ConfigureAwait(false);
        ClaimChecks.Sent(bytes);
    }

    /// <summary>
    /// A pointer: the message is in this host's payload container. It is handled as if it had come inline, and the
    /// blob deleted only then; a redelivered pointer whose blob is gone was applied before (the delete happened, the
    /// queue message's delete did not).
    /// </summary>
    private async Task HandlePayloadAsync(ReplicationMessage pointer, CancellationToken cancellationToken)
    {
        if (pointer.Blob is not { Length: > 0 } blob) throw new InvalidDataException("Payload message without a blob.");
        if (_own.Payloads is not { } payloads)
        {
            _logger.LogWarning("Replication payload {Blob} for {Region}, but this host's queues have no storage account; dropped.", blob, pointer.Target);
            return;
        }

        var text = await payloads.DownloadAsync(blob, cancellationToken).ConfigureAwait(false);
        if (text == null)
        {
            _logger.LogInformation("Global table {Table} in {Region}: payload {Blob} from {Source} is gone, so it was applied before; dropped.", pointer.Table, pointer.Target, blob, pointer.Source);
            ClaimChecks.Missing();
            return;
        }

        var message = ReplicationMessage.Parse(text);
        if (message.Type == MessageType.Payload) throw new InvalidDataException($"Payload blob {blob} holds another pointer.");
        await HandleAsync(message, cancellationToken).ConfigureAwait(false);
        ClaimChecks.Applied();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(_options.SendTimeoutSeconds));
            await payloads.DeleteAsync(blob, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Applied all the same: failing the message would only apply it again. The sweep deletes the blob.
            _logger.LogWarning(e, "Global table {Table} in {Region}: could not delete the applied payload {Blob}; the hourly sweep deletes it.", pointer.Table, pointer.Target, blob);
        }
    }

    /// <summary>
    /// Once an hour (by the engine's clock), from the shipping timer: deletes the payload blobs sent to this host's
    /// regions that are older than the change log's retention. Those are bodies whose pointer never reached the
    /// queue (the sender stopped between the two sends) or whose delete failed; a pointer still waiting after that
    /// long comes from a region away for more than 20 hours, which has left the group by then.
    /// </summary>
    private async Task SweepPayloadsAsync(CancellationToken cancellationToken)
    {
        if (_own.Payloads is not { } payloads) return;
        var now = _regions.Default.Time.GetUtcNow();
        if (now < _nextPayloadSweep) return;
        _nextPayloadSweep = now + PayloadSweepInterval;
        var deleted = 0;
        try
        {
            foreach (var engine in _regions.All)
                deleted += await payloads.DeleteOlderThanAsync(ReplicationPayloads.PrefixOf(engine.Options.DefaultRegion), now - Database.StreamRetention, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning(e, "Replication payloads: the sweep failed; it runs again in an hour.");
        }

        ClaimChecks.Swept(deleted);
        if (deleted > 0) _logger.LogInformation("Replication payloads: deleted {Count} blobs older than the change log's retention that no message named.", deleted);
    }
}
