using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Serverless.Engine.Metrics;

/// <summary>
/// CloudWatch's <c>SuccessfulRequestLatency</c> for DynamoDB, per table: the request handler records how long each
/// successful request that names a table took, and <c>GET /admin/metrics</c> reports each table's count and its
/// mean latency over the last complete ten-second window.
/// </summary>
public sealed class RequestLatencies
{
    private readonly ConcurrentDictionary<string, LatencyMeter> _byTable = new(StringComparer.Ordinal);
    /// <summary>Records a successful request that began at <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void Record(JsonElement request, long startTimestamp)
    {
        if (request.ValueKind != JsonValueKind.Object || !request.TryGetProperty("TableName"u8, out var name) || name.ValueKind != JsonValueKind.String) return;
        // The name the operation just read, from this thread's one-entry cache: no string per request.
        var table = Operations.Req.TableName(request);
        if (string.IsNullOrEmpty(table)) return;
        var now = Stopwatch.GetTimestamp();
        _byTable.GetOrAdd(table, static _ => new LatencyMeter()).Record(now - startTimestamp, now);
    }

    /// <summary>The meter of <paramref name="table"/>, or null when no request has named it.</summary>
    public LatencyMeter? Find(string table) => _byTable.GetValueOrDefault(table);
}

/// <summary>Successful requests and their latency in ten-second windows; safe for concurrent use without locks.</summary>
public sealed class LatencyMeter
{
    private static readonly long Window = Stopwatch.Frequency * 10;
    private long _count;
    private long _windowStart;
    private long _windowTicks;
    private long _windowCount;
    private long _lastMeanMicros = -1;

    public long Count => Interlocked.Read(ref _count);

    /// <summary>The mean latency of the last complete window, in microseconds (the current one until one completes); -1 before any request.</summary>
    public long MeanMicros
    {
        get
        {
            var last = Interlocked.Read(ref _lastMeanMicros);
            if (last >= 0) return last;
            var n = Interlocked.Read(ref _windowCount);
            return n == 0 ? -1 : Interlocked.Read(ref _windowTicks) * 1_000_000 / Stopwatch.Frequency / n;
        }
    }

    public void Record(long elapsedTicks, long now)
    {
        Interlocked.Increment(ref _count);
        var start = Interlocked.Read(ref _windowStart);
        if (start == 0) Interlocked.CompareExchange(ref _windowStart, now, 0);
        else if (now - start >= Window && Interlocked.CompareExchange(ref _windowStart, now, start) == start)
        {
            // This thread closed the window: publish its mean and start the next one.
            var n = Interlocked.Exchange(ref _windowCount, 0);
            var ticks = Interlocked.Exchange(ref _windowTicks, 0);
            if (n > 0) Interlocked.Exchange(ref _lastMeanMicros, ticks * 1_000_000 / Stopwatch.Frequency / n);
        }

        Interlocked.Add(ref _windowTicks, elapsedTicks);
        Interlocked.Increment(ref _windowCount);
    }
}
