using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Persistence;

/// <summary>
/// Ships the change log to blob storage and tells writers when their record is durable there: the change log as a
/// source for the shared <see cref="PipelinedAppender"/> (pipelined group commit into the segments' append blobs).
/// Writers wait for <see cref="WhenShippedAsync"/> before their write is acknowledged; while blob storage is
/// unreachable they get ServiceUnavailable, and nothing acknowledged is lost.
/// </summary>
public sealed class LogShipper : IAsyncDisposable, IAppendSource
{
    private readonly ChangeLog _log;
    private readonly PipelinedAppender _appender;
    private readonly SegmentFileReader _reader;

    /// <param name="time">The clock of the appender's pause after a failed append (the system clock when null).</param>
    public LogShipper(ChangeLog log, BlobPersistence blob, BlobOptions options, TimeProvider? time = null)
    {
        _log = log;
        _reader = new SegmentFileReader(PathOf);

        // Everything already in the local log when shipping starts came from blob storage (a fresh recovery) or
        // was shipped by this store's previous owner run; the local files are a copy of the blobs.
        var tail = log.Tail;
        _appender = new PipelinedAppender(this, blob.LogTarget, new AppendPosition(tail.Segment, tail.Offset, tail.Lsn - 1), options.AppendsInFlight, Unavailable, options.LogBlobBlocks, time);
    }

    /// <summary>What the change log's appends cost.</summary>
    public AppendStats Stats => _appender.Stats;

    /// <summary>The last sequence number durable in blob storage.</summary>
    public ulong ShippedLsn => _appender.Durable;

    AppendPosition IAppendSource.Committed
    {
        get
        {
            var tail = _log.Tail;
            return new AppendPosition(tail.Segment, tail.Offset, tail.Lsn - 1);
        }
    }

    /// <summary>Completes once the record <paramref name="lsn"/>, committed locally by <paramref name="local"/>, is in blob storage.</summary>
    public Task WhenShippedAsync(ulong lsn, Task local) =>
        local.IsCompletedSuccessfully ? _appender.WhenDurableAsync(lsn) : AfterLocalAsync(lsn, local);

    public async ValueTask DisposeAsync()
    {
        await _appender.DisposeAsync().ConfigureAwait(false);
        _reader.Dispose();
    }

    bool IAppendSource.TryGetNext(ulong segment, out long length, out ulong next)
    {
        length = 0;
        next = 0;
        string? path = null;
        foreach (var (first, p) in _log.Segments)
        {
            if (first == segment) path = p;
            else if (first > segment)
            {
                next = first;
                break;
            }
        }

        if (next == 0 || path == null) return false;
        length = new FileInfo(path).Length;
        return true;
    }

    ValueTask IAppendSource.ReadAsync(ulong segment, long offset, Memory<byte> destination) => _reader.ReadAsync(segment, offset, destination);

    void IAppendSource.OnDurable(AppendPosition position)
    {
    }

    void IAppendSource.RequestRoll() => _log.RequestRoll();

    private string? PathOf(ulong segment)
    {
        foreach (var (first, path) in _log.Segments)
            if (first == segment) return path;
        return null;
    }

    private static Exception Unavailable(string cause) => DynamoErrors.ServiceUnavailable(
        "Blob storage is unreachable: the write was applied locally but is not durable, so it is not acknowledged. " + cause);

    private async Task AfterLocalAsync(ulong lsn, Task local)
    {
        await local.ConfigureAwait(false);
        await _appender.WhenDurableAsync(lsn).ConfigureAwait(false);
    }
}
