namespace Serverless.Replicator.Queues;

/// <summary>A received message; <see cref="Receipt"/> identifies this delivery for delete and visibility updates.</summary>
public sealed record ReceivedMessage(string Id, string Receipt, string Text, long DequeueCount, DateTimeOffset? InsertedOn);

/// <summary>
/// The queues triggers deliver to and queue-triggered functions read from, with Azure Storage queue semantics: a
/// received message is invisible for a visibility timeout and comes back with a higher dequeue count unless it is
/// deleted. Two backends: Azure Storage (Azure or Azurite) and an in-process one for a host without storage.
/// </summary>
public interface IMessageQueues
{
    /// <summary>"AzureStorage" or "InProcess", for logs and the host's banner.</summary>
    string Backend { get; }

    /// <summary>
    /// The longest message text, in UTF-8 bytes, <see cref="SendAsync"/> takes (Azure Storage: 64 KiB on the wire).
    /// Global tables send a longer message as a claim check (a blob and a pointer to it).
    /// </summary>
    int MaxMessageBytes { get; }

    /// <summary>Enqueues <paramref name="text"/>; the queue is created if missing.</summary>
    Task SendAsync(string queue, string text, CancellationToken cancellationToken);

    Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(string queue, int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken);

    Task DeleteAsync(string queue, ReceivedMessage message, CancellationToken cancellationToken);

    /// <summary>Makes the message visible again after <paramref name="visibilityTimeout"/>; returns the new delivery.</summary>
    Task<ReceivedMessage> SetVisibilityAsync(string queue, ReceivedMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken);

    /// <summary>
    /// Waits until a message may have arrived in <paramref name="queue"/> or <paramref name="maxWait"/> passes. The
    /// in-process backend is woken by the send; Azure Storage can only be polled, so this just waits.
    /// </summary>
    Task WaitAsync(string queue, TimeSpan maxWait, CancellationToken cancellationToken);
}

/// <summary>Which <see cref="IMessageQueues"/> backend to use.</summary>
public enum QueueBackend
{
    /// <summary>Azure Storage when a connection string is configured, otherwise in-process.</summary>
    Auto = 0,
    AzureStorage = 1,
    InProcess = 2,
}

public static class MessageQueues
{
    /// <summary>The app setting holding the storage connection string, as in Azure Functions.</summary>
    public const string ConnectionSetting = "AzureWebJobsStorage";

    /// <summary>Creates the backend <paramref name="backend"/> selects, given the <c>AzureWebJobsStorage</c> value.</summary>
    public static IMessageQueues Create(QueueBackend backend, string? connectionString, TimeProvider? time = null)
    {
        var configured = !string.IsNullOrWhiteSpace(connectionString);
        return backend switch
        {
            QueueBackend.InProcess => new InProcessMessageQueues(time),
            QueueBackend.AzureStorage when !configured => throw new ArgumentException($"StreamFanOut:QueueBackend is AzureStorage but {ConnectionSetting} is not set."),
            _ when configured => new AzureStorageMessageQueues(connectionString!),
            _ => new InProcessMessageQueues(time),
        };
    }
}
