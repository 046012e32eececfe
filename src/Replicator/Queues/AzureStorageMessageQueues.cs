using System.Collections.Concurrent;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Serverless.Replicator.Queues;

/// <summary>
/// Azure Storage queues (Azure or Azurite) reached through the <c>AzureWebJobsStorage</c> connection string.
/// Messages are base64-encoded, the Functions queue extension's default encoding, so a <c>[QueueTrigger]</c> function
/// in Azure reads what the fan-out sends.
/// </summary>
public sealed class AzureStorageMessageQueues : IMessageQueues
{
    private readonly QueueServiceClient _service;
    private readonly ConcurrentDictionary<string, Lazy<Task<QueueClient>>> _clients = new(StringComparer.Ordinal);

    public AzureStorageMessageQueues(string connectionString, bool base64 = true)
    {
        ConnectionString = connectionString;
        // 64 KiB per message on the wire, and base64 turns every 3 bytes of text into 4 (48 KiB). Azurite counts the
        // whole request body, so 1 KiB is left for the XML around the text.
        MaxMessageBytes = base64 ? 47 * 1024 : 63 * 1024;
        _service = new QueueServiceClient(connectionString, new QueueClientOptions
        {
            MessageEncoding = base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None,
        });
    }

    public string Backend => "AzureStorage";

    public int MaxMessageBytes { get; }

    /// <summary>The storage account's connection string (global tables keep their claim-check blobs in the same account).</summary>
    public string ConnectionString { get; }

    public async Task SendAsync(string queue, string text, CancellationToken cancellationToken)
    {
        var client = await GetAsync(queue).ConfigureAwait(false);
        await client.SendMessageAsync(text, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(string queue, int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        var client = await GetAsync(queue).ConfigureAwait(false);
        var messages = (await client.ReceiveMessagesAsync(Math.Clamp(maxMessages, 1, 32), visibilityTimeout, cancellationToken).ConfigureAwait(false)).Value;
        var result = new List<ReceivedMessage>(messages.Length);
        foreach (var m in messages) result.Add(new ReceivedMessage(m.MessageId, m.PopReceipt, m.Body.ToString(), m.DequeueCount, m.InsertedOn));
        return result;
    }

    public async Task DeleteAsync(string queue, ReceivedMessage message, CancellationToken cancellationToken)
    {
        var client = await GetAsync(queue).ConfigureAwait(false);
        await client.DeleteMessageAsync(message.Id, message.Receipt, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ReceivedMessage> SetVisibilityAsync(string queue, ReceivedMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        var client = await GetAsync(queue).ConfigureAwait(false);
        var receipt = (await client.UpdateMessageAsync(message.Id, message.Receipt, visibilityTimeout: visibilityTimeout, cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        return message with { Receipt = receipt.PopReceipt };
    }

    public Task WaitAsync(string queue, TimeSpan maxWait, CancellationToken cancellationToken) => Task.Delay(maxWait, cancellationToken);

    /// <summary>A client for one queue, created on first use (CreateIfNotExists once per process and queue).</summary>
    public async Task<QueueClient> GetAsync(string queue)
    {
        var lazy = _clients.GetOrAdd(queue, name => new Lazy<Task<QueueClient>>(async () =>
        {
            var client = _service.GetQueueClient(name);
            await client.CreateIfNotExistsAsync().ConfigureAwait(false);
            return client;
        }));
        try
        {
            return await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            // Storage was unreachable: try creating the queue again next time.
            _clients.TryRemove(KeyValuePair.Create(queue, lazy));
            throw;
        }
    }
}
