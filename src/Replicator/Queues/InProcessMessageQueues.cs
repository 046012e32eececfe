namespace Serverless.Replicator.Queues;

/// <summary>
/// Queues held in this process's memory, with the visibility and dequeue-count behaviour of Azure Storage queues, so
/// the local host runs triggers without Azurite. Nothing survives a restart: a batch sent but not yet handled when
/// the process dies is lost (the fan-out's checkpoint has moved past it). Use Azure Storage for at-least-once
/// delivery across crashes.
/// </summary>
public sealed class InProcessMessageQueues(TimeProvider? time = null) : IMessageQueues
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, QueueState> _queues = new(StringComparer.Ordinal);
    private long _ids;

    public string Backend => "InProcess";

    /// <summary>Any length: the text is only referenced.</summary>
    public int MaxMessageBytes => int.MaxValue;

    public Task SendAsync(string queue, string text, CancellationToken cancellationToken)
    {
        var state = Get(queue);
        lock (state)
        {
            state.Messages.Add(new Entry(Interlocked.Increment(ref _ids).ToString(System.Globalization.CultureInfo.InvariantCulture), text, _time.GetUtcNow()));
            state.Signal.TrySetResult();
            state.Signal = NewSignal();
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(string queue, int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        var state = Get(queue);
        var now = _time.GetUtcNow();
        var result = new List<ReceivedMessage>();
        lock (state)
        {
            foreach (var entry in state.Messages)
            {
                if (result.Count >= maxMessages) break;
                if (entry.VisibleAt > now) continue;
                entry.DequeueCount++;
                entry.Receipt = Guid.NewGuid().ToString("N");
                entry.VisibleAt = now + visibilityTimeout;
                result.Add(new ReceivedMessage(entry.Id, entry.Receipt, entry.Text, entry.DequeueCount, entry.InsertedOn));
            }
        }

        return Task.FromResult<IReadOnlyList<ReceivedMessage>>(result);
    }

    public Task DeleteAsync(string queue, ReceivedMessage message, CancellationToken cancellationToken)
    {
        var state = Get(queue);
        lock (state)
        {
            var index = state.Messages.FindIndex(e => e.Id == message.Id && e.Receipt == message.Receipt);
            if (index < 0) throw new InvalidOperationException($"Message {message.Id} of queue '{queue}' is no longer held by this receipt.");
            state.Messages.RemoveAt(index);
        }

        return Task.CompletedTask;
    }

    public Task<ReceivedMessage> SetVisibilityAsync(string queue, ReceivedMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken)
    {
        var state = Get(queue);
        lock (state)
        {
            var entry = state.Messages.Find(e => e.Id == message.Id && e.Receipt == message.Receipt)
                ?? throw new InvalidOperationException($"Message {message.Id} of queue '{queue}' is no longer held by this receipt.");
            entry.Receipt = Guid.NewGuid().ToString("N");
            entry.VisibleAt = _time.GetUtcNow() + visibilityTimeout;
            if (visibilityTimeout <= TimeSpan.Zero)
            {
                state.Signal.TrySetResult();
                state.Signal = NewSignal();
            }

            return Task.FromResult(message with { Receipt = entry.Receipt });
        }
    }

    public async Task WaitAsync(string queue, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var state = Get(queue);
        Task signal;
        lock (state)
        {
            // A message sent after the caller's empty receive must not wait for the timeout.
            var now = _time.GetUtcNow();
            if (state.Messages.Exists(e => e.VisibleAt <= now)) return;
            signal = state.Signal.Task;
        }

        try
        {
            await signal.WaitAsync(maxWait, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // nothing arrived; the caller polls again (a message may have become visible again)
        }
    }

    /// <summary>How many messages the queue holds, visible or not (for tests and diagnostics).</summary>
    public int Count(string queue)
    {
        var state = Get(queue);
        lock (state) return state.Messages.Count;
    }

    private QueueState Get(string queue)
    {
        lock (_queues)
        {
            if (!_queues.TryGetValue(queue, out var state)) _queues[queue] = state = new QueueState();
            return state;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class QueueState
    {
        public List<Entry> Messages { get; } = [];

        public TaskCompletionSource Signal { get; set; } = NewSignal();
    }

    private sealed class Entry(string id, string text, DateTimeOffset insertedOn)
    {
        public string Id { get; } = id;

        public string Text { get; } = text;

        public DateTimeOffset InsertedOn { get; } = insertedOn;

        public long DequeueCount { get; set; }

        public string Receipt { get; set; } = "";

        public DateTimeOffset VisibleAt { get; set; }
    }
}
