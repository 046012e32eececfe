using System.Runtime;

namespace Serverless.Engine.Storage;

/// <summary>
/// Gives the memory a burst of writes leaves behind back to the operating system once writes stop: a write load
/// leaves garbage in every generation (request objects promoted by the collections that ran under it, frozen
/// memtables, run blocks) that the GC keeps committed until its budgets say otherwise, which it may never do on an
/// idle instance. After <see cref="EngineOptions.IdleCompactionAfter"/> without a change-log append, and only when at
/// least <see cref="MinLogBytes"/> were appended since the last one, one blocking, compacting full collection runs in
/// <see cref="Maintenance"/> (aggressive: it also decommits the freed regions). Under load the check only reads a
/// counter, so it costs nothing; the clock is the engine's <see cref="TimeProvider"/> (docs/startup.md, "Memory").
/// </summary>
public sealed class IdleCompaction : IDisposable
{
    /// <summary>Log appended since the last compaction below which an idle period is not worth a full collection.</summary>
    internal const long MinLogBytes = 4L * 1024 * 1024;

    private readonly Database _db;
    private readonly TimeSpan _after;
    private readonly ITimer? _timer;
    private readonly object _lock = new();
    private long _seenBytes;
    private long _compactedAtBytes;
    private DateTimeOffset _changedAt;
    private long _compactions;

    internal IdleCompaction(Database db, TimeSpan after, bool startTimer = true)
    {
        _db = db;
        _after = after;
        _changedAt = db.Time.GetUtcNow();
        if (startTimer && after > TimeSpan.Zero)
        {
            var period = after / 4 < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : after / 4;
            _timer = db.Time.CreateTimer(static state => ((IdleCompaction)state!).Tick(), this, period, period);
        }
    }

    /// <summary>Compactions run since the engine opened.</summary>
    public long Compactions => Interlocked.Read(ref _compactions);

    /// <summary>
    /// One check: notes whether the log grew since the last one, and starts a compaction when it has not for the idle
    /// period and enough was written since the last compaction. True when it started one.
    /// </summary>
    internal bool Tick()
    {
        if (_db.Disposing || _db.Log is not { } log) return false;
        var bytes = log.AppendedBytes;
        lock (_lock)
        {
            var now = _db.Time.GetUtcNow();
            if (bytes != _seenBytes)
            {
                _seenBytes = bytes;
                _changedAt = now;
                return false;
            }

            if (bytes - _compactedAtBytes < MinLogBytes || now - _changedAt < _after) return false;
            _compactedAtBytes = bytes;
        }

        Interlocked.Increment(ref _compactions);
        _db.Maintenance.Run("idle compaction", static () =>
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            return Task.CompletedTask;
        });
        return true;
    }

    public void Dispose() => _timer?.Dispose();
}
