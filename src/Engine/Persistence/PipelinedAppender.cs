using System.Buffers;
using System.Diagnostics;

namespace Serverless.Engine.Persistence;

/// <summary>A place in a segmented local log: its segment (by first sequence number), a byte offset in it, and the last sequence number before that offset.</summary>
public readonly record struct AppendPosition(ulong Segment, long Offset, ulong LastSequence);

/// <summary>A segmented local log whose committed bytes a <see cref="PipelinedAppender"/> copies to blob storage.</summary>
public interface IAppendSource
{
    /// <summary>Where the committed bytes end now (consistent: segment, offset and last sequence number together).</summary>
    AppendPosition Committed { get; }

    /// <summary>For a segment the log has moved past: its final length and the first sequence number of the segment after it.</summary>
    bool TryGetNext(ulong segment, out long length, out ulong next);

    /// <summary>Reads committed bytes of a segment, filling <paramref name="destination"/> exactly.</summary>
    ValueTask ReadAsync(ulong segment, long offset, Memory<byte> destination);

    /// <summary>Everything up to <paramref name="position"/> is durable in blob storage (called in log order, from the appender's loop).</summary>
    void OnDurable(AppendPosition position);

    /// <summary>The segment's blob nears the block limit of append blobs: start a new segment soon.</summary>
    void RequestRoll();
}

/// <summary>
/// Group commit of a segmented local log into append blobs, pipelined: each round appends every byte committed
/// since the bytes already in flight (so concurrent writers share one append, and batches grow with the load), and
/// up to <c>maxInFlight</c> appends travel at once, each at its precomputed position (<c>IfAppendPositionEqual</c>).
/// An append that arrives before its predecessor is refused by the position check, waits for that predecessor and
/// goes again; appends are retired strictly in order, so <see cref="WhenDurableAsync"/> is released only once every
/// byte before its record is in the blob. When an append fails, the ones behind it are drained, every waiting writer
/// gets the failure (ServiceUnavailable), and the next round starts again from the blob's real length, so blob
/// storage always holds a prefix of the local log. No lock is held across I/O: the loop alone owns the positions.
/// Used by the change log (<see cref="LogShipper"/>) and by Kinesis shard segments.
/// </summary>
public sealed class PipelinedAppender : IAsyncDisposable
{
    /// <summary>Largest single append (one block): the limit of older service versions and of Azurite.</summary>
    public const int MaxAppendBytes = 4 * 1024 * 1024;

    /// <summary>The pause after a failed append before the next round asks the blob for its length again.</summary>
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);

    private readonly IAppendSource _source;
    private readonly AppendBlobTarget _target;
    private readonly int _maxInFlight;
    private readonly int _rollAtBlocks;
    private readonly Func<string, Exception> _unavailable;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<InFlight> _inFlight = new();
    private readonly object _lock = new();
    private readonly Task _loop;
    private readonly Action _wakeLoop;
    private TaskCompletionSource _progress = NewProgress();
    private ulong _durable;
    private int _signalled;

    // Owned by the loop.
    private AppendPosition _shipped;
    private AppendPosition _issued;
    private Task _lastIssued = Task.CompletedTask;
    private long _blocks;
    private bool _started;

    /// <param name="source">The local log.</param>
    /// <param name="target">Its blobs.</param>
    /// <param name="start">Where shipping starts (everything before it is in blob storage); the blob's length corrects the offset if it is shorter.</param>
    /// <param name="maxInFlight">Appends in flight at once (1 = one round at a time).</param>
    /// <param name="unavailable">Builds the error waiting writers get when an append fails, from the cause.</param>
    /// <param name="rollAtBlocks">Blocks in a segment's blob after which the source is asked for a new segment (Azure allows 50,000).</param>
    /// <param name="time">The clock of the pause after a failed append (the system clock when null).</param>
    public PipelinedAppender(IAppendSource source, AppendBlobTarget target, AppendPosition start, int maxInFlight, Func<string, Exception> unavailable, int rollAtBlocks = 45_000, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _rollAtBlocks = rollAtBlocks;
        _source = source;
        _target = target;
        _maxInFlight = Math.Max(1, maxInFlight);
        _unavailable = unavailable;
        _shipped = _issued = start;
        _durable = start.LastSequence;
        _wakeLoop = () => _wake.Release();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>What the appends cost.</summary>
    public AppendStats Stats => _target.Stats;

    /// <summary>The last sequence number durable in blob storage.</summary>
    public ulong Durable => Volatile.Read(ref _durable);

    /// <summary>Completes once <paramref name="sequence"/> and everything before it are in blob storage; faults with the outage error otherwise.</summary>
    public Task WhenDurableAsync(ulong sequence) => Volatile.Read(ref _durable) >= sequence ? Task.CompletedTask : WaitAsync(sequence);

    /// <summary>Ships what is committed (for up to <paramref name="timeout"/>), then stops.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        var last = _source.Committed.LastSequence;
        try
        {
            if (last > Durable) await WhenDurableAsync(last).WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Unshipped records were never acknowledged; the local copy still holds them.
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _wake.Release();
        await _loop.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _stop.Dispose();
    }

    private static TaskCompletionSource NewProgress() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task WaitAsync(ulong sequence)
    {
        var start = Stopwatch.GetTimestamp();
        while (Volatile.Read(ref _durable) < sequence)
        {
            Task progress;
            lock (_lock) progress = _progress.Task;
            if (Volatile.Read(ref _durable) >= sequence) return;
            Signal();
            await progress.ConfigureAwait(false);
        }

        _target.Stats.Waited(start);
    }

    private void Signal()
    {
        if (Interlocked.Exchange(ref _signalled, 1) == 0) _wake.Release();
    }

    private void Publish(Exception? failure)
    {
        TaskCompletionSource done;
        lock (_lock)
        {
            done = _progress;
            _progress = NewProgress();
        }

        if (failure == null) done.SetResult();
        else done.SetException(failure);
    }

    private async Task LoopAsync()
    {
        while (true)
        {
            await _wake.WaitAsync().ConfigureAwait(false);
            Volatile.Write(ref _signalled, 0);
            Exception? failure = null;
            var progressed = false;
            while (_inFlight.TryPeek(out var head) && head.Task.IsCompleted)
            {
                _inFlight.Dequeue();
                if (!head.Task.IsCompletedSuccessfully)
                {
                    failure = head.Task.Exception?.GetBaseException() ?? new OperationCanceledException();
                    break;
                }

                _shipped = head.End;
                if (!head.Whole)
                {
                    s_killAfterPiece.KillIfArmed();
                    continue; // a piece of a larger backlog: it may end inside a record
                }

                if (head.End.LastSequence > _durable) Volatile.Write(ref _durable, head.End.LastSequence);
                _source.OnDurable(head.End);
                progressed = true;
            }

            if (progressed) Publish(null);
            if (failure == null && !_stop.IsCancellationRequested)
            {
                try
                {
                    await IssueAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    failure = e;
                }
            }

            if (failure != null) await RecoverAsync(failure).ConfigureAwait(false);
            if (_stop.IsCancellationRequested && _inFlight.Count == 0) break;
        }

        lock (_lock) _progress.TrySetException(_unavailable("the appender stopped"));
    }

    /// <summary>After a failed append: fail the waiting writers, let the appends behind it settle, and start again from the blob's length.</summary>
    private async Task RecoverAsync(Exception failure)
    {
        _target.Stats.Failed();
        Publish(_unavailable(failure.Message));
        while (_inFlight.TryDequeue(out var rest))
        {
            try
            {
                await rest.Task.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Drained: the next round finds out from the blob what landed.
            }
        }

        _issued = _shipped;
        _lastIssued = Task.CompletedTask;
        _started = false;
        if (_stop.IsCancellationRequested) return;
        try
        {
            await Task.Delay(RetryPause, _time, _stop.Token).ConfigureAwait(false); // do not spin while storage is down
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (_source.Committed.Offset != _shipped.Offset || _source.Committed.Segment != _shipped.Segment) Signal();
    }

    /// <summary>
    /// For crash tests only: while the file the environment variable <c>SERVERLESS_TEST_HOLD_APPENDS</c> names exists,
    /// no append starts, so writes are applied and logged locally but never become durable (nor acknowledged).
    /// </summary>
    private static readonly FaultHook s_holdAppends = new("SERVERLESS_TEST_HOLD_APPENDS");

    /// <summary>
    /// For crash tests only: when the environment variable <c>SERVERLESS_TEST_KILL_AFTER_PIECE</c> names a file that
    /// exists, the process kills itself (SIGKILL) once the first piece of a backlog shipped in pieces has landed, so
    /// the blob ends inside a record.
    /// </summary>
    private static readonly FaultHook s_killAfterPiece = new("SERVERLESS_TEST_KILL_AFTER_PIECE");

    /// <summary>Starts appends for the committed bytes not yet in flight, while there is room.</summary>
    private async Task IssueAsync()
    {
        while (_inFlight.Count < _maxInFlight)
        {
            if (s_holdAppends.IsArmed) return;
            if (!_started)
            {
                var (length, blocks) = await _target.StateAsync(_issued.Segment, _stop.Token).ConfigureAwait(false);
                if (length < _issued.Offset) _issued = _shipped = _issued with { Offset = length };
                _blocks = blocks;
                _started = true;
                if (_blocks >= _rollAtBlocks) _source.RequestRoll();
            }

            var committed = _source.Committed;
            AppendPosition end;
            if (committed.Segment == _issued.Segment)
            {
                if (committed.Offset <= _issued.Offset) return;
                end = committed;
            }
            else
            {
                if (!_source.TryGetNext(_issued.Segment, out var length, out var next)) return;
                if (length <= _issued.Offset)
                {
                    // The segment is all in flight: the next one's blob is created by its first append, which goes alone.
                    if (_inFlight.Count > 0) return;
                    _issued = _shipped = new AppendPosition(next, 0, next - 1);
                    _blocks = 0;
                    continue;
                }

                end = new AppendPosition(_issued.Segment, length, next - 1);
            }

            if (_issued.Offset == 0 && _inFlight.Count > 0) return;
            var count = (int)Math.Min(end.Offset - _issued.Offset, MaxAppendBytes);
            var whole = _issued.Offset + count == end.Offset;
            if (!whole) end = _issued with { Offset = _issued.Offset + count };
            var buffer = ArrayPool<byte>.Shared.Rent(count);
            try
            {
                await _source.ReadAsync(_issued.Segment, _issued.Offset, buffer.AsMemory(0, count)).ConfigureAwait(false);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }

            var first = _issued.Offset == 0;
            var task = AppendAsync(_lastIssued, _issued.Segment, _issued.Offset, buffer, count);
            // The loop is woken only once the task is complete: woken from inside the append (before its task
            // completed) it could find the head still running, go back to sleep, and, with every writer already
            // waiting, never be woken again (issue 13: a durable wait that never ended).
            task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_wakeLoop);
            _inFlight.Enqueue(new InFlight(task, end, whole));
            _lastIssued = task;
            _issued = end;
            if (++_blocks == _rollAtBlocks) _source.RequestRoll();
            if (first) return;
        }
    }

    private async Task AppendAsync(Task predecessor, ulong segment, long offset, byte[] buffer, int count)
    {
        try
        {
            if (!await _target.AppendAsync(segment, offset, buffer.AsMemory(0, count), predecessor, _stop.Token).ConfigureAwait(false))
            {
                // It overtook the append before it (the blob is shorter than its position): go again once that one landed.
                await predecessor.ConfigureAwait(false);
                if (!await _target.AppendAsync(segment, offset, buffer.AsMemory(0, count), null, _stop.Token).ConfigureAwait(false))
                    throw new IOException($"The blob of log segment {segment} is shorter than the bytes already shipped.");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>An append on its way; <paramref name="Whole"/> when it ends at a record boundary (the committed end, or a segment's end).</summary>
    private readonly record struct InFlight(Task Task, AppendPosition End, bool Whole);
}
