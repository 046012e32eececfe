using System.Diagnostics;
using System.Text.Json;

namespace Serverless.Engine.Persistence;

/// <summary>
/// Counters of one <see cref="PipelinedAppender"/> and its <see cref="AppendBlobTarget"/>, for <c>/admin/metrics</c>
/// (<c>"BlobLog"</c>): how many appends went to blob storage, their bytes and latency, the extra requests they cost
/// (a refused position, a blob created, a length read), failed rounds, and how long writers waited to be durable. Totals since the
/// start; a caller takes two readings and divides.
/// </summary>
public sealed class AppendStats
{
    private long _appends;
    private long _bytes;
    private long _appendTicks;
    private long _maxAppendTicks;
    private long _refused;
    private long _creates;
    private long _lengthReads;
    private long _failures;
    private long _waits;
    private long _waitTicks;

    internal void Appended(int bytes, long startTimestamp)
    {
        var ticks = Stopwatch.GetTimestamp() - startTimestamp;
        Interlocked.Increment(ref _appends);
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Add(ref _appendTicks, ticks);
        var max = Volatile.Read(ref _maxAppendTicks);
        while (ticks > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxAppendTicks, ticks, max);
            if (seen == max) break;
            max = seen;
        }
    }

    internal void Failed() => Interlocked.Increment(ref _failures);

    internal void Refused() => Interlocked.Increment(ref _refused);

    internal void Created() => Interlocked.Increment(ref _creates);

    internal void LengthRead() => Interlocked.Increment(ref _lengthReads);

    internal void Waited(long startTimestamp)
    {
        Interlocked.Increment(ref _waits);
        Interlocked.Add(ref _waitTicks, Stopwatch.GetTimestamp() - startTimestamp);
    }

    /// <summary>Appends confirmed by blob storage.</summary>
    public long Appends => Volatile.Read(ref _appends);

    /// <summary>Writes that had to wait for an append (the others found their record durable already).</summary>
    public long Waits => Volatile.Read(ref _waits);

    /// <summary>Writes the members into the open JSON object.</summary>
    public void Write(Utf8JsonWriter w)
    {
        w.WriteNumber("Appends"u8, Appends);
        w.WriteNumber("AppendedBytes"u8, Volatile.Read(ref _bytes));
        w.WriteNumber("AppendMicros"u8, Micros(Volatile.Read(ref _appendTicks)));
        w.WriteNumber("MaxAppendMicros"u8, Micros(Volatile.Read(ref _maxAppendTicks)));
        w.WriteNumber("RefusedAppends"u8, Volatile.Read(ref _refused));
        w.WriteNumber("BlobsCreated"u8, Volatile.Read(ref _creates));
        w.WriteNumber("LengthReads"u8, Volatile.Read(ref _lengthReads));
        w.WriteNumber("FailedRounds"u8, Volatile.Read(ref _failures));
        w.WriteNumber("DurableWaits"u8, Waits);
        w.WriteNumber("DurableWaitMicros"u8, Micros(Volatile.Read(ref _waitTicks)));
    }

    private static long Micros(long ticks) => ticks * 1_000_000 / Stopwatch.Frequency;
}
