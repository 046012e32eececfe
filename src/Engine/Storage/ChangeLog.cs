using System.Globalization;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;
using Serverless.Engine.Common;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>When the change log forces its writes to stable storage.</summary>
public enum ChangeLogSync
{
    /// <summary>
    /// A write is acknowledged once its record has been handed to the operating system, which survives a crash
    /// or kill of the process; the file is fsynced in the background every <see cref="ChangeLogOptions.SyncInterval"/>,
    /// which bounds what a machine crash can lose.
    /// </summary>
    Interval = 0,

    /// <summary>A write is acknowledged only after its group commit has been fsynced: survives power loss.</summary>
    Always = 1,
}

public sealed class ChangeLogOptions
{
    public ChangeLogSync Sync { get; set; } = ChangeLogSync.Interval;

    /// <summary>Background fsync period in <see cref="ChangeLogSync.Interval"/> mode. Default: 100 ms.</summary>
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Roll to a new segment file past this size. Default: 16 MiB. The open segment is memory-mapped; its written pages
    /// are dropped from the process's resident memory as appends pass them (docs/startup.md, "Memory").
    /// </summary>
    public long SegmentBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Extra wait before a flush so more writes can join it. Default: none.</summary>
    public TimeSpan GroupCommitDelay { get; set; } = TimeSpan.Zero;
}

/// <summary>Replay callback: one record, in log order.</summary>
public delegate void ChangeVisitor(in ChangeRecord record);

/// <summary>
/// The append-only change log, the spine of the engine: every mutation is appended here, and a write is
/// acknowledged only once its record is committed. Records live in segment files named by the first sequence
/// number they hold.
/// In <see cref="ChangeLogSync.Always"/> mode appends are a copy into the open batch, under a short lock, and one
/// flusher writes and fsyncs each batch with a single system call, so concurrent writers share a commit (group
/// commit). In <see cref="ChangeLogSync.Interval"/> mode a commit is only a hand-over to the operating system, which
/// costs less than handing the record to another thread, so the appender does it inline, under the append lock,
/// and the commit is complete when the append returns. The hand-over is a copy into the segment's shared memory
/// mapping, which puts the record in the page cache exactly as a write(2) would (a killed process loses nothing;
/// fsync covers it) without a system call per record. A mapped segment is sized ahead; the zeros past its last
/// record read as a torn tail after a crash, and a closed or rolled segment is cut back to its records.
/// </summary>
public sealed class ChangeLog : IAsyncDisposable
{
    private const string SegmentSuffix = ".log";

    /// <summary>Room past a full segment in its mapping: more than the largest record (two 400 KB images and a key).</summary>
    private const long MaxRecordBytes = 1024 * 1024;

    /// <summary>
    /// Written pages of the mapped segment are dropped from the resident set in steps of this size: they are in the
    /// page cache already, and without it the open segment counted in RSS up to its full size.
    /// </summary>
    private const long ReleaseStep = 1024 * 1024;

    private const string NotDurable = "The change log cannot be written; the write was not applied durably.";

    private readonly string _directory;
    private readonly ChangeLogOptions _options;
    private readonly StoreCipher _cipher;
    private readonly RecordCipher _sealer;
    private readonly object _appendLock = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _flusher;
    private readonly Timer? _syncTimer;
    private readonly bool _inline;

    private PooledBufferWriter _open = new(64 * 1024);
    private PooledBufferWriter _spare = new(64 * 1024);
    private TaskCompletionSource _openBatch = NewBatch();
    private ulong _openFirstLsn;
    private bool _signalled;
    private ulong _lastLsn;
    private long _appendedBytes;
    private ulong _durableLsn;
    private LogPosition? _tail;
    private Exception? _failure;

    private SafeFileHandle _segment = null!;
    private long _segmentLength;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private nint _mapped;
    private long _mappedCapacity;
    private long _released;
    private ulong _segmentFirstLsn;
    private int _dirty;
    private volatile bool _rollRequested;

    private ChangeLog(string directory, ChangeLogOptions options, StoreCipher cipher, ulong lastLsn)
    {
        _directory = directory;
        _options = options;
        _cipher = cipher;
        _sealer = new RecordCipher(cipher);
        _lastLsn = lastLsn;
        _durableLsn = lastLsn;
        _inline = options.Sync == ChangeLogSync.Interval && options.GroupCommitDelay == TimeSpan.Zero;
        OpenSegment(lastLsn + 1);
        _flusher = Task.Factory.StartNew(FlushLoopAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        if (options.Sync == ChangeLogSync.Interval)
            _syncTimer = new Timer(_ => SyncIfDirty(), null, options.SyncInterval, options.SyncInterval);
    }

    /// <summary>The store's data key, which every record is encrypted with; readers of the segments need it.</summary>
    public StoreCipher Cipher => _cipher;

    /// <summary>Sequence number of the last record appended.</summary>
    public ulong LastLsn
    {
        get
        {
            lock (_appendLock) return _lastLsn;
        }
    }

    /// <summary>Bytes appended since this log was opened; the engine checkpoints after enough of them.</summary>
    public long AppendedBytes => Volatile.Read(ref _appendedBytes);

    /// <summary>Sequence number up to which every record is committed.</summary>
    public ulong DurableLsn => Volatile.Read(ref _durableLsn);

    /// <summary>Where the next committed record will be: its sequence number, segment and byte offset.</summary>
    public LogPosition Tail
    {
        get
        {
            // Inline commits happen under the append lock, so the segment, its length and the last sequence number
            // read together under it are consistent (and nothing is allocated per write to publish them).
            if (_inline)
            {
                lock (_appendLock) return new LogPosition(_durableLsn + 1, _segmentFirstLsn, _segmentLength);
            }

            return Volatile.Read(ref _tail) ?? new LogPosition(DurableLsn + 1, Volatile.Read(ref _segmentFirstLsn), _segmentLength);
        }
    }

    /// <summary>
    /// Replays every intact record with a sequence number of at least <paramref name="fromLsn"/>, truncates a torn
    /// tail left by a crash, and opens the log for appending after the last intact record. A damaged record that is
    /// not a torn tail (intact records follow it, or it is in a segment that was complete) fails the open with
    /// <see cref="InvalidDataException"/> naming the segment and offset: acknowledged writes are never dropped silently.
    /// </summary>
    public static ChangeLog OpenAndReplay(string directory, ChangeLogOptions options, StoreCipher cipher, ulong fromLsn, ChangeVisitor visitor)
    {
        Directory.CreateDirectory(directory);
        ulong last = fromLsn == 0 ? 0 : fromLsn - 1;
        var segments = ListSegments(directory);
        var reader = RecordCipher.ForThread(cipher);
        for (var s = 0; s < segments.Count; s++)
        {
            var (_, path) = segments[s];
            if (s + 1 < segments.Count && segments[s + 1].FirstLsn <= fromLsn) continue; // wholly before the replay point
            var data = File.ReadAllBytes(path);
            var offset = 0;
            while (offset < data.Length)
            {
                var n = ChangeRecord.TryRead(data.AsSpan(offset), reader, out var record);
                if (n <= 0) break;
                if (record.Lsn >= fromLsn)
                {
                    visitor(in record);
                }

                if (record.Lsn > last) last = record.Lsn;
                offset += n;
            }

            if (offset < data.Length)
            {
                // Rolled segments were cut back to their records and fsynced before the next one existed, so only
                // the newest segment can end torn; and a torn tail has no intact frame after it.
                var isLast = s + 1 == segments.Count;
                if (!isLast || FindIntactFrame(data, offset + 1, reader) is >= 0)
                {
                    throw new InvalidDataException(
                        $"The change-log segment {path} is corrupt at byte {offset}: a record fails authentication "
                        + (isLast ? "and intact records follow it" : "in a segment that was complete")
                        + ". It is not a torn write, so recovery stops rather than drop acknowledged writes; restore the data directory from a copy.");
                }

                // A torn tail: the crash interrupted a write that was therefore never acknowledged. Drop it.
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
                fs.SetLength(offset);
                fs.Flush(flushToDisk: true);
                break;
            }
        }

        return new ChangeLog(directory, options, cipher, last);
    }

    /// <summary>The offset of the first intact frame at or after <paramref name="from"/>, or -1 (failure path only).</summary>
    private static int FindIntactFrame(byte[] data, int from, RecordCipher reader)
    {
        var scratch = new byte[0];
        for (var at = from; at + ChangeRecord.FrameOverhead <= data.Length; at++)
        {
            if (data[at] == 0 && data[at + 1] == 0 && data[at + 2] == 0 && data[at + 3] == 0) continue; // zeros: no frame starts here
            var n = ChangeRecord.CheckHeader(data.AsSpan(at), out _);
            if (n <= 0) continue;
            if (scratch.Length < n) scratch = new byte[n];
            data.AsSpan(at, n).CopyTo(scratch);
            if (ChangeRecord.TryRead(scratch.AsSpan(0, n), reader, out _) > 0) return at;
        }

        return -1;
    }

    /// <summary>Appends an item change; returns its sequence number and the task of its commit.</summary>
    public CommitTicket AppendItemWrite(long timestampMicros, ChangeFlags flags, uint table, ReadOnlySpan<byte> key,
        bool hasOld, ReadOnlySpan<byte> oldImage, bool hasNew, ReadOnlySpan<byte> newImage, in ReplicaOrigin origin = default)
    {
        lock (_appendLock)
        {
            ThrowIfFailed();
            var lsn = ++_lastLsn;
            var before = _open.WrittenCount;
            if (before == 0) _openFirstLsn = lsn;
            ChangeRecord.WriteItemWrite(_open, _sealer, lsn, timestampMicros, flags, table, key, hasOld, oldImage, hasNew, newImage, origin);
            _appendedBytes += _open.WrittenCount - before;
            return Enlist(lsn);
        }
    }

    /// <summary>Appends a whole transaction as one record: one sequence number, one frame, one commit.</summary>
    public CommitTicket AppendTransaction(long timestampMicros, ReadOnlySpan<byte> token, ReadOnlySpan<byte> fingerprint, ReadOnlySpan<TransactionChange> items)
    {
        lock (_appendLock)
        {
            ThrowIfFailed();
            var lsn = ++_lastLsn;
            var before = _open.WrittenCount;
            if (before == 0) _openFirstLsn = lsn;
            ChangeRecord.WriteTransaction(_open, _sealer, lsn, timestampMicros, token, fingerprint, items);
            _appendedBytes += _open.WrittenCount - before;
            return Enlist(lsn);
        }
    }

    public CommitTicket AppendCatalog(long timestampMicros, uint table, ReadOnlySpan<byte> body)
    {
        lock (_appendLock)
        {
            ThrowIfFailed();
            var lsn = ++_lastLsn;
            var before = _open.WrittenCount;
            if (before == 0) _openFirstLsn = lsn;
            ChangeRecord.WriteCatalog(_open, _sealer, lsn, timestampMicros, table, body);
            _appendedBytes += _open.WrittenCount - before;
            return Enlist(lsn);
        }
    }

    /// <summary>
    /// Deletes segment files whose records all precede <paramref name="lsn"/> (covered by a checkpoint) and, when
    /// <paramref name="keepWrittenSinceUtc"/> is given, that were last written before it (stream retention).
    /// </summary>
    public void DeleteSegmentsBefore(ulong lsn, DateTime? keepWrittenSinceUtc = null)
    {
        var segments = ListSegments(_directory);
        for (var i = 0; i + 1 < segments.Count; i++)
        {
            if (segments[i + 1].FirstLsn > lsn) break;
            if (segments[i].FirstLsn == Volatile.Read(ref _segmentFirstLsn)) break;
            if (keepWrittenSinceUtc is { } since && File.GetLastWriteTimeUtc(segments[i].Path) >= since) break;
            File.Delete(segments[i].Path);
        }
    }

    /// <summary>The segment files, oldest first, each with the sequence number of its first record.</summary>
    public IReadOnlyList<(ulong FirstLsn, string Path)> Segments => ListSegments(_directory);

    /// <summary>Starts a new segment at the next append (blob storage asks for it before an append blob fills up).</summary>
    public void RequestRoll() => _rollRequested = true;

    /// <summary>Waits until everything appended so far is committed.</summary>
    public Task FlushAsync()
    {
        Task batch;
        lock (_appendLock)
        {
            if (_open.WrittenCount == 0) return Volatile.Read(ref _durableLsn) >= _lastLsn ? Task.CompletedTask : WaitForLsnAsync(_lastLsn);
            batch = _openBatch.Task;
            Signal();
        }

        return batch;
    }

    public async ValueTask DisposeAsync()
    {
        await FlushAsync().ConfigureAwait(false);
        _stop.Cancel();
        _signal.Release();
        try
        {
            await _flusher.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (_syncTimer != null) await _syncTimer.DisposeAsync().ConfigureAwait(false);
        lock (_appendLock) UnmapSegment();
        RandomAccess.FlushToDisk(_segment);
        _segment.Dispose();
        _open.Dispose();
        _spare.Dispose();
        _sealer.Dispose();
    }

    private static List<(ulong FirstLsn, string Path)> ListSegments(string directory)
    {
        var list = new List<(ulong, string)>();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + SegmentSuffix))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (ulong.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var first)) list.Add((first, path));
        }

        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    private static TaskCompletionSource NewBatch() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private CommitTicket Enlist(ulong lsn)
    {
        if (_inline) return new CommitTicket(lsn, WriteInline(lsn));
        var ticket = new CommitTicket(lsn, _openBatch.Task);
        Signal();
        return ticket;
    }

    private void Signal()
    {
        if (_signalled) return;
        _signalled = true;
        _signal.Release();
    }

    private void ThrowIfFailed()
    {
        if (_failure != null) throw new StoreException(StoreStatus.LogUnavailable, "The change log cannot be written; the service refuses writes until it is restarted.");
    }

    /// <summary>Completes once every record up to <paramref name="lsn"/> is committed.</summary>
    public Task WhenDurableAsync(ulong lsn)
    {
        if (Volatile.Read(ref _durableLsn) >= lsn) return Task.CompletedTask;
        lock (_appendLock) Signal();
        return WaitForLsnAsync(lsn);
    }

    private async Task WaitForLsnAsync(ulong lsn)
    {
        while (Volatile.Read(ref _durableLsn) < lsn)
        {
            Task batch;
            lock (_appendLock) batch = _openBatch.Task;
            await batch.ConfigureAwait(false);
        }
    }

    private async Task FlushLoopAsync()
    {
        while (true)
        {
            await _signal.WaitAsync().ConfigureAwait(false);
            if (_options.GroupCommitDelay > TimeSpan.Zero) await Task.Delay(_options.GroupCommitDelay).ConfigureAwait(false);
            PooledBufferWriter batchBytes;
            TaskCompletionSource batch;
            ulong batchLast;
            ulong batchFirst;
            lock (_appendLock)
            {
                _signalled = false;
                if (_open.WrittenCount == 0)
                {
                    if (_stop.IsCancellationRequested) return;
                    continue;
                }

                batchBytes = _open;
                _open = _spare;
                _spare = batchBytes;
                batch = _openBatch;
                _openBatch = NewBatch();
                batchLast = _lastLsn;
                batchFirst = _openFirstLsn;
            }

            try
            {
                if (_segmentLength >= _options.SegmentBytes || _rollRequested && _segmentLength > 0) RollSegment(batchFirst);
                RandomAccess.Write(_segment, batchBytes.WrittenSpan, _segmentLength);
                _segmentLength += batchBytes.WrittenCount;
                if (_options.Sync == ChangeLogSync.Always) RandomAccess.FlushToDisk(_segment);
                else Volatile.Write(ref _dirty, 1);
                Volatile.Write(ref _tail, new LogPosition(batchLast + 1, Volatile.Read(ref _segmentFirstLsn), _segmentLength));
                Volatile.Write(ref _durableLsn, batchLast);
                batchBytes.Clear();
                batch.SetResult();
            }
            catch (Exception e)
            {
                lock (_appendLock) _failure = e;
                batchBytes.Clear();
                batch.SetException(new StoreException(StoreStatus.LogUnavailable, NotDurable));
            }
        }
    }

    /// <summary>
    /// Writes the open batch (the record just appended) to the segment; the caller holds the append lock, which
    /// keeps records in sequence order on disk. Returns the commit: completed, or faulted when the write failed.
    /// </summary>
    private unsafe Task WriteInline(ulong lsn)
    {
        try
        {
            var record = _open.WrittenSpan;
            if (_segmentLength >= _options.SegmentBytes || _segmentLength + record.Length > _mappedCapacity || _rollRequested && _segmentLength > 0) RollSegment(lsn);
            record.CopyTo(new Span<byte>((byte*)_mapped + _segmentLength, record.Length));
            _segmentLength += record.Length;
            if (_segmentLength - _released >= 2 * ReleaseStep)
            {
                // Keep the page being written (and the one before) mapped; everything older is only read from the file.
                var upTo = (_segmentLength - ReleaseStep) & ~(long)(MappedPages.PageSize - 1);
                MappedPages.Release(_mapped + (nint)_released, upTo - _released);
                _released = upTo;
            }

            Volatile.Write(ref _dirty, 1);
            Volatile.Write(ref _durableLsn, lsn);
            return Task.CompletedTask;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            _failure = e;
            return Task.FromException(new StoreException(StoreStatus.LogUnavailable, NotDurable));
        }
        finally
        {
            _open.Clear();
        }
    }

    /// <summary>Maps the open segment for inline appends, sized for a full segment plus the largest record.</summary>
    private unsafe void MapSegment()
    {
        _mappedCapacity = Math.Max(_options.SegmentBytes, _segmentLength) + MaxRecordBytes;
        RandomAccess.SetLength(_segment, _mappedCapacity);
        _map = MemoryMappedFile.CreateFromFile(_segment, null, _mappedCapacity, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, _mappedCapacity, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _mapped = (nint)(pointer + _view.PointerOffset);
        _released = 0;
    }

    /// <summary>Unmaps the open segment and cuts it back to its records (the caller fsyncs).</summary>
    private void UnmapSegment()
    {
        if (_view == null) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map!.Dispose();
        _view = null;
        _map = null;
        _mapped = 0;
        RandomAccess.SetLength(_segment, _segmentLength);
    }

    private void SyncIfDirty()
    {
        if (Interlocked.Exchange(ref _dirty, 0) == 0) return;
        try
        {
            RandomAccess.FlushToDisk(_segment);
        }
        catch (ObjectDisposedException)
        {
            // The segment rolled or the log closed between the check and the flush; both fsync on their own.
        }
        catch (IOException e)
        {
            // An exception escaping a timer callback would end the process: record it, and let writes fail instead.
            lock (_appendLock) _failure ??= e;
        }
    }

    private void RollSegment(ulong firstLsn)
    {
        _rollRequested = false;
        // Cut the old segment back before the next one exists: replay treats zeros in any but the newest
        // segment as a torn tail and drops what follows.
        UnmapSegment();
        RandomAccess.FlushToDisk(_segment);
        _segment.Dispose();
        OpenSegment(firstLsn);
    }

    private void OpenSegment(ulong firstLsn)
    {
        // Continue the newest segment if there is one; otherwise start a new one named by its first record.
        var segments = ListSegments(_directory);
        string path;
        if (segments.Count > 0 && _segment == null)
        {
            (firstLsn, path) = segments[^1];
        }
        else
        {
            path = Path.Combine(_directory, firstLsn.ToString("D20", CultureInfo.InvariantCulture) + SegmentSuffix);
        }

        _segment = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        _segmentLength = RandomAccess.GetLength(_segment);
        Volatile.Write(ref _segmentFirstLsn, firstLsn);
        if (_inline) MapSegment();
    }
}

/// <summary>A place in the change log: a record's sequence number, its segment (by first sequence number) and byte offset.</summary>
public sealed record LogPosition(ulong Lsn, ulong Segment, long Offset);

/// <summary>The sequence number of an appended record and the task that completes when it is committed.</summary>
public readonly record struct CommitTicket(ulong Lsn, Task Committed);
