using Microsoft.Win32.SafeHandles;

namespace Serverless.Engine.Persistence;

/// <summary>
/// Reads committed bytes of a log's local segment files for its <see cref="PipelinedAppender"/>, keeping the file of
/// the segment being shipped open between appends. Used by the appender's loop only, one read at a time.
/// </summary>
public sealed class SegmentFileReader(Func<ulong, string?> pathOf) : IDisposable
{
    private ulong _segment;
    private SafeFileHandle? _handle;

    /// <summary>
    /// Fills <paramref name="destination"/> from <paramref name="offset"/> of the segment's file. The bytes were just
    /// committed, so they are in the page cache (the change log writes through a shared mapping): the read is a
    /// synchronous copy, which costs less than a hop to the thread pool and back between two appends.
    /// </summary>
    public ValueTask ReadAsync(ulong segment, long offset, Memory<byte> destination)
    {
        if (_handle == null || _segment != segment)
        {
            var path = pathOf(segment) ?? throw new IOException($"The log segment {segment} is gone before it was shipped.");
            _handle?.Dispose();
            _handle = null;
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            _segment = segment;
        }

        for (var done = 0; done < destination.Length;)
        {
            var n = RandomAccess.Read(_handle, destination.Span[done..], offset + done);
            if (n <= 0) throw new IOException($"The log segment {segment} is shorter than expected.");
            done += n;
        }

        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        _handle?.Dispose();
        _handle = null;
    }
}
