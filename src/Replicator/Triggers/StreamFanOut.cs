using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Serverless.Engine;
using Serverless.Engine.Operations;
using Serverless.Replicator.Queues;

namespace Serverless.Replicator.Triggers;

/// <summary>
/// Delivers table streams to queues, one mapping at a time and in log order: read from the mapping's checkpoint,
/// filter, cut into batches, send each batch as one Lambda DynamoDB event (<c>{"Records":[...]}</c>), and only then
/// move the checkpoint past it. Delivery is at least once: a crash between a send and its checkpoint sends that
/// batch again. One instance per engine, so per region (<see cref="StreamFanOuts"/> holds them), with the mappings of
/// that region and their checkpoints in that engine's data directory; runs never overlap.
/// </summary>
public sealed partial class StreamFanOut
{
    /// <summary>Largest message body sent: Azure Storage allows 64 KiB, and base64 encoding grows the text by 4/3.</summary>
    public const int MaxMessageBytes = 48 * 1024;

    private const int MaxRecordsPerRead = 1000;
    private static readonly byte[] Open = "{\"Records\":["u8.ToArray();
    private static readonly byte[] Close = "]}"u8.ToArray();

    private readonly DynamoEngine _engine;
    private readonly StreamFanOutOptions _options;
    private readonly IMessageQueues _queues;
    private readonly ILogger _logger;
    private readonly MappingState[] _mappings;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public StreamFanOut(DynamoEngine engine, IReadOnlyList<TriggerMapping> mappings, StreamFanOutOptions options, IMessageQueues queues, ILogger<StreamFanOut> logger)
    {
        ArgumentNullException.ThrowIfNull(mappings);
        _engine = engine;
        _options = options;
        _queues = queues;
        _logger = logger;
        _mappings = [.. mappings.Select((m, i) => new MappingState(m, m.Validate(i)))];
    }

    public IReadOnlyList<TriggerMapping> Mappings => [.. _mappings.Select(m => m.Mapping)];

    /// <summary>The region of this fan-out's engine, which every one of its mappings reads.</summary>
    public string Region => _engine.Options.DefaultRegion;

    /// <summary>When the last pass over this region's mappings ended (engine clock); null before the first.</summary>
    public DateTimeOffset? LastPass => Volatile.Read(ref _lastPassTicks) is > 0 and var ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    private long _lastPassTicks;

    /// <summary>
    /// One run: passes over every mapping until caught up, then keeps following the streams for
    /// <see cref="StreamFanOutOptions.TailMilliseconds"/>. Returns how many records were sent.
    /// </summary>
    public async Task<long> RunAsync(CancellationToken cancellationToken)
    {
        if (_mappings.Length == 0) return 0;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The tail is a run's length, on the engine's clock (monotonic: moving a test clock forward does not end it).
            var time = _engine.Time;
            var started = time.GetTimestamp();
            var tail = TimeSpan.FromMilliseconds(_options.TailMilliseconds);
            var poll = TimeSpan.FromMilliseconds(_options.PollMilliseconds);
            long sent = 0;
            while (true)
            {
                sent += await PassAsync(cancellationToken).ConfigureAwait(false);
                if (time.GetElapsedTime(started) >= tail) return sent;
                await Task.Delay(poll, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<long> PassAsync(CancellationToken cancellationToken)
    {
        long sent = 0;
        foreach (var state in _mappings)
        {
            try
            {
                sent += await DeliverAsync(state, cancellationToken).ConfigureAwait(false);
                state.LastProblem = null;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The checkpoint did not move: the next pass retries from it. Log a problem once, not every pass.
                if (state.LastProblem != e.Message) _logger.LogWarning(e, "Trigger {Mapping} ({Region}): delivery failed; retrying.", state.Name, Region);
                state.LastProblem = e.Message;
            }
        }

        Volatile.Write(ref _lastPassTicks, _engine.Time.GetUtcNow().UtcTicks);
        return sent;
    }

    private async Task<long> DeliverAsync(MappingState state, CancellationToken cancellationToken)
    {
        var mapping = state.Mapping;
        if (state.Position is not { } position)
        {
            if (!TryBegin(state)) return 0;
            position = state.Position!.Value;
        }

        long sent = 0;
        var records = new List<StreamFeedRecord>();
        var matched = new List<StreamFeedRecord>();
        while (true)
        {
            records.Clear();
            matched.Clear();
            var end = position;
            while (matched.Count < mapping.BatchSize)
            {
                var before = records.Count;
                var status = StreamFeed.Read(_engine, mapping.Table, ref end, Math.Min(MaxRecordsPerRead, mapping.BatchSize - matched.Count), records);
                if (status != StreamFeedStatus.Ok)
                {
                    Warn(state, status);
                    return sent;
                }

                if (records.Count == before) break;
                for (var i = before; i < records.Count; i++)
                {
                    if (Passes(state.Filter, records[i].Json)) matched.Add(records[i]);
                }
            }

            state.Warned = null;
            if (matched.Count == 0)
            {
                if (end != position) position = Save(state, end);
                state.PendingSince = null;
                return sent;
            }

            if (matched.Count < mapping.BatchSize && mapping.BatchingWindowSeconds > 0)
            {
                // The batching window is on the engine's clock, so a test that moves it forward closes the window.
                var now = _engine.Time.GetUtcNow();
                state.PendingSince ??= now;
                if (now - state.PendingSince < TimeSpan.FromSeconds(mapping.BatchingWindowSeconds)) return sent;
            }

            var arn = StreamArn(mapping.Table, end.StreamLabel);
            var message = new MemoryStream();
            var inMessage = 0;
            for (var i = 0; i < matched.Count; i++)
            {
                var json = WithSource(matched[i].Json, arn);
                if (json.Length + Open.Length + Close.Length > MaxMessageBytes)
                {
                    _logger.LogWarning("Trigger {Mapping} ({Region}): record {Sequence} is larger than a queue message; it is sent without its images.", state.Name, Region, SequenceOf(json));
                    json = WithoutImages(json);
                }

                if (inMessage > 0 && message.Length + 1 + json.Length + Close.Length > MaxMessageBytes)
                {
                    position = await SendAsync(state, message, matched[i - 1].Next, cancellationToken).ConfigureAwait(false);
                    inMessage = 0;
                }

                message.Write(inMessage == 0 ? Open : ","u8);
                message.Write(json);
                inMessage++;
            }

            position = await SendAsync(state, message, end, cancellationToken).ConfigureAwait(false);
            state.PendingSince = null;
            sent += matched.Count;
            if (matched.Count < mapping.BatchSize) return sent;
        }
    }

    /// <summary>Sends the message being built, then checkpoints <paramref name="after"/>; returns it.</summary>
    private async Task<StreamPosition> SendAsync(MappingState state, MemoryStream message, StreamPosition after, CancellationToken cancellationToken)
    {
        message.Write(Close);
        var text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
        message.SetLength(0);
        await _queues.SendAsync(state.Mapping.Queue, text, cancellationToken).ConfigureAwait(false);
        return Save(state, after);
    }

    private StreamPosition Save(MappingState state, StreamPosition position)
    {
        if (state.CheckpointPath is { } path) TriggerCheckpoint.Of(state.Mapping.Table, position).Save(path, _engine.Database.Cipher);
        state.Position = position;
        return position;
    }

    /// <summary>Loads the mapping's checkpoint, or starts it at its StartingPosition and saves that at once.</summary>
    private bool TryBegin(MappingState state)
    {
        var mapping = state.Mapping;
        var options = _engine.Options;
        state.CheckpointPath ??= options.InMemory ? null : TriggerCheckpoint.PathOf(options.DataDirectory, mapping);
        if (state.CheckpointPath != null && TriggerCheckpoint.Load(state.CheckpointPath, _engine.Database.Cipher) is { } saved && saved.Table == mapping.Table)
        {
            state.Position = saved.Position;
            return true;
        }

        var status = StreamFeed.TryStart(_engine, mapping.Table, mapping.StartingPosition == StartingPosition.LATEST, out var start);
        if (status != StreamFeedStatus.Ok)
        {
            Warn(state, status);
            return false;
        }

        Save(state, start);
        _logger.LogInformation("Trigger {Mapping} ({Region}): delivering {Table}'s stream to queue {Queue} from {Start}.", state.Name, Region, mapping.Table, mapping.Queue, mapping.StartingPosition);
        return true;
    }

    private void Warn(MappingState state, StreamFeedStatus status)
    {
        if (state.Warned == status) return;
        state.Warned = status;
        _logger.LogWarning("Trigger {Mapping} ({Region}): {Problem}; waiting.", state.Name, Region, status == StreamFeedStatus.NoTable
            ? $"table {state.Mapping.Table} does not exist"
            : $"table {state.Mapping.Table} has no enabled stream (enable one with StreamSpecification)");
    }

    private string StreamArn(string table, string label) =>
        _engine.Database.FindTable(table) is { } t ? $"{t.Definition.Arn}/stream/{label}" : "";

    private static bool Passes(EventFilter filter, byte[] json)
    {
        if (filter.MatchesEverything) return true;
        using var document = JsonDocument.Parse(json);
        return filter.Matches(document.RootElement);
    }

    /// <summary>Adds Lambda's <c>eventSourceARN</c> (the stream's ARN) to a record as GetRecords shapes it.</summary>
    private static byte[] WithSource(byte[] record, string arn)
    {
        var suffix = Encoding.UTF8.GetBytes($",\"eventSourceARN\":\"{arn}\"}}");
        var result = new byte[record.Length - 1 + suffix.Length];
        record.AsSpan(0, record.Length - 1).CopyTo(result);
        suffix.CopyTo(result.AsSpan(record.Length - 1));
        return result;
    }

    private static byte[] WithoutImages(byte[] record)
    {
        var node = JsonNode.Parse(record)!;
        if (node["dynamodb"] is JsonObject dynamodb)
        {
            dynamodb.Remove("NewImage");
            dynamodb.Remove("OldImage");
        }

        // JsonNode writes itself (no reflection-based serializer, so the host also compiles ahead of time).
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(record.Length);
        using (var writer = new Utf8JsonWriter(buffer)) node.WriteTo(writer);
        return buffer.WrittenSpan.ToArray();
    }

    private static string SequenceOf(byte[] record) =>
        JsonNode.Parse(record)?["dynamodb"]?["SequenceNumber"]?.GetValue<string>() ?? "?";

    private sealed class MappingState(TriggerMapping mapping, EventFilter filter)
    {
        public TriggerMapping Mapping { get; } = mapping;

        public EventFilter Filter { get; } = filter;

        public string Name => Mapping.CheckpointName;

        public string? CheckpointPath { get; set; }

        /// <summary>The next record to deliver; only the delivering run reads it (status readers use <see cref="Published"/>).</summary>
        public StreamPosition? Position
        {
            get => _position;
            set
            {
                _position = value;
                Published = value is { } p ? new System.Runtime.CompilerServices.StrongBox<StreamPosition>(p) : null;
            }
        }

        /// <summary><see cref="Position"/> as one reference, so another thread never reads half a position.</summary>
        public volatile System.Runtime.CompilerServices.StrongBox<StreamPosition>? Published;

        private StreamPosition? _position;

        public DateTimeOffset? PendingSince { get; set; }

        public StreamFeedStatus? Warned { get; set; }

        public string? LastProblem { get; set; }
    }
}
