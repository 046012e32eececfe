using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Persistence;

/// <summary>
/// Ships the change log to blob storage and tells writers when their record is durable there. It tails the local
/// segment files: each round appends every byte committed locally since the last round (so concurrent writers share
/// one blob append: group commit), and a failed round is retried from the same position by the next one, so blob
/// storage always holds a prefix of the local log. Writers wait for <see cref="WhenShippedAsync"/> before their write
/// is acknowledged; while blob storage is unreachable they get ServiceUnavailable, and nothing acknowledged is lost.
/// </summary>
public sealed class LogShipper : IAsyncDisposable
{
    private readonly ChangeLog _log;
    private readonly BlobPersistence _blob;
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly object _lock = new();
    private TaskCompletionSource _round = NewRound();
    private ulong _shippedLsn;
    private ulong _segment;
    private long _offset;
    private int _signalled;

    public LogShipper(ChangeLog log, BlobPersistence blob)
    {
        _log = log;
        _blob = blob;
        var tail = log.Tail;

        // Everything already in the local log when shipping starts came from blob storage (a fresh recovery) or
        // was shipped by this store's previous owner run; the local files are a copy of the blobs.
        _shippedLsn = tail.Lsn - 1;
        _segment = tail.Segment;
        _offset = tail.Offset;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The last sequence number durable in blob storage.</summary>
    public ulong ShippedLsn => Volatile.Read(ref _shippedLsn);

    /// <summary>Completes once the record <paramref name="lsn"/>, committed locally by <paramref name="local"/>, is in blob storage.</summary>
    public async Task WhenShippedAsync(ulong lsn, Task local)
    {
        await local.ConfigureAwait(false);
        while (Volatile.Read(ref _shippedLsn) < lsn)
        {
            Task round;
            lock (_lock) round = _round.Task;
            if (Volatile.Read(ref _shippedLsn) >= lsn) return;
            Signal();
            await round.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Ship what is committed, then stop.
        var last = _log.DurableLsn;
        try
        {
            if (last > ShippedLsn) await WhenShippedAsync(last, Task.CompletedTask).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DynamoException or TimeoutException)
        {
            // Unshipped records were never acknowledged; the local log still holds them for a restart here.
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _signal.Release();
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Signal()
    {
        if (Interlocked.Exchange(ref _signalled, 1) == 0) _signal.Release();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await _signal.WaitAsync().ConfigureAwait(false);
            Volatile.Write(ref _signalled, 0);
            if (_stop.IsCancellationRequested) break;
            TaskCompletionSource round;
            lock (_lock)
            {
                round = _round;
                _round = NewRound();
            }

            try
            {
                await ShipCommittedAsync().ConfigureAwait(false);
                round.SetResult();
            }
            catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
            {
                round.SetException(DynamoErrors.ServiceUnavailable(
                    "Blob storage is unreachable: the write was applied locally but is not durable, so it is not acknowledged. " + e.Message));
                await Task.Delay(200).ConfigureAwait(false); // do not spin while storage is down
            }
        }

        lock (_lock) _round.TrySetCanceled();
    }

    /// <summary>Appends the local log from the shipped position up to the committed tail, segment by segment.</summary>
    private async Task ShipCommittedAsync()
    {
        var tail = _log.Tail;
        while (true)
        {
            var end = _segment == tail.Segment ? tail.Offset : LengthOf(_segment);
            if (end > _offset)
            {
                var bytes = await ReadAsync(_segment, _offset, end).ConfigureAwait(false);
                await _blob.AppendLogAsync(_segment, _offset, bytes, _stop.Token).ConfigureAwait(false);
                _offset = end;
            }

            if (_segment == tail.Segment) break;

            // The segment is complete: move on to the next one the local log holds.
            var next = _log.Segments.Select(s => s.FirstLsn).Where(f => f > _segment).DefaultIfEmpty(tail.Segment).Min();
            _segment = next;
            _offset = 0;
        }

        Volatile.Write(ref _shippedLsn, tail.Lsn - 1);
    }

    private long LengthOf(ulong segment)
    {
        var path = _log.Segments.FirstOrDefault(s => s.FirstLsn == segment).Path;
        return path != null && File.Exists(path) ? new FileInfo(path).Length : 0;
    }

    private async Task<byte[]> ReadAsync(ulong segment, long from, long to)
    {
        var path = _log.Segments.First(s => s.FirstLsn == segment).Path;
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var bytes = new byte[to - from];
        var done = 0;
        while (done < bytes.Length)
        {
            var n = await RandomAccess.ReadAsync(handle, bytes.AsMemory(done), from + done).ConfigureAwait(false);
            if (n <= 0) throw new IOException($"The change-log segment {path} is shorter than expected.");
            done += n;
        }

        return bytes;
    }
}
