using System.Text.Json;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Capacity;

/// <summary>
/// The capacity of one table or one global secondary index at run time: its read and write token buckets
/// (provisioned throughput with burst, or on-demand maximums), the per-partition-key buckets of a table, its
/// throttle counters and a ring of per-minute samples for <c>/admin/metrics</c>. One object per table
/// (<see cref="TableState.Throughput"/>) and per GSI (<see cref="SecondaryIndex.Throughput"/>), found with the
/// table; it re-reads its limits only when the definition object changes.
/// </summary>
public sealed class ThroughputState
{
    private const int PartitionSlots = 4096;
    private const int RingMinutes = 16;

    private readonly CapacityMeter _meter;
    private readonly object _lock = new();
    private object? _configuredTable;
    private object? _configuredIndex;
    private TokenBucket? _read;
    private TokenBucket? _write;
    private bool _onDemand;
    private string _arn = "";
    private double _provisionedRead;
    private double _provisionedWrite;
    private long[]? _readSlots;
    private long[]? _writeSlots;
    private long _throttledReads;
    private long _throttledWrites;
    private long _throttledRequests;
    private long _minute = -1;
    private readonly MinuteSample[] _ring = new MinuteSample[RingMinutes];

    internal ThroughputState(CapacityMeter meter, bool isIndex)
    {
        _meter = meter;
        IsIndex = isIndex;
    }

    /// <summary>True for a global secondary index, false for a table.</summary>
    public bool IsIndex { get; }

    /// <summary>Capacity consumed here since the engine opened (the table's or the index's meter).</summary>
    public CapacityMeter Consumed => _meter;

    /// <summary>The ARN throttling reasons name: the table's, or the index's (<c>…/index/name</c>).</summary>
    public string Arn => Volatile.Read(ref _arn);

    /// <summary>Whether the limits are on-demand maximums (ThrottlingException) rather than provisioned throughput.</summary>
    public bool OnDemand => Volatile.Read(ref _onDemand);

    internal TokenBucket? Bucket(bool read) => read ? Volatile.Read(ref _read) : Volatile.Read(ref _write);

    public long ThrottledReads => Interlocked.Read(ref _throttledReads);

    public long ThrottledWrites => Interlocked.Read(ref _throttledWrites);

    public long ThrottledRequests => Interlocked.Read(ref _throttledRequests);

    /// <summary>
    /// Makes the buckets follow the definition (CreateTable, UpdateTable, a billing-mode switch). Cheap when nothing
    /// changed: two reference comparisons.
    /// </summary>
    /// <param name="changedNow">
    /// The definition has just changed (UpdateTable): new buckets start now. Otherwise a bucket this process has not
    /// had yet belongs to a table provisioned since its creation and starts at the table's creation, so a table
    /// keeps the capacity it left unused, also across a restart of the engine.
    /// </param>
    internal void Ensure(TableDefinition table, IndexDefinition? index, long now, CapacityOptions options, bool changedNow = false)
    {
        if (ReferenceEquals(Volatile.Read(ref _configuredTable), table) && ReferenceEquals(Volatile.Read(ref _configuredIndex), index)) return;
        lock (_lock)
        {
            if (ReferenceEquals(_configuredTable, table) && ReferenceEquals(_configuredIndex, index)) return;
            var origin = now;
            if (!changedNow && table.LastUpdateToPayPerRequestDateTime == null)
                origin = Math.Min(now, DateTimeOffset.UnixEpoch.Ticks + (long)(table.CreationDateTime * TimeSpan.TicksPerSecond));
            var onDemand = table.BillingMode == "PAY_PER_REQUEST";
            double read, write;
            if (onDemand)
            {
                var limits = index != null ? index.OnDemandThroughput : table.OnDemandThroughput;
                read = limits is { MaxReadRequestUnits: > 0 } ? limits.MaxReadRequestUnits : 0;
                write = limits is { MaxWriteRequestUnits: > 0 } ? limits.MaxWriteRequestUnits : 0;
            }
            else
            {
                read = index?.ReadCapacityUnits ?? table.ReadCapacityUnits;
                write = index?.WriteCapacityUnits ?? table.WriteCapacityUnits;
            }

            // Provisioned throughput keeps unused capacity as burst; on-demand maximums are per second.
            var burst = onDemand ? 1.0 : options.BurstSeconds;
            Volatile.Write(ref _read, Follow(_read, read, burst, now, origin));
            Volatile.Write(ref _write, Follow(_write, write, burst, now, origin));
            _provisionedRead = onDemand ? 0 : read;
            _provisionedWrite = onDemand ? 0 : write;
            Volatile.Write(ref _onDemand, onDemand);
            Volatile.Write(ref _arn, index == null ? table.Arn : table.Arn + "/index/" + index.Name);
            Volatile.Write(ref _configuredIndex, index);
            Volatile.Write(ref _configuredTable, table);
        }
    }

    /// <summary>
    /// A new bucket starts with one second of capacity: burst is unused capacity kept, and a new table has not
    /// left any unused yet. A changed one keeps what it holds (capped at the new burst).
    /// </summary>
    private static TokenBucket? Follow(TokenBucket? bucket, double unitsPerSecond, double burstSeconds, long now, long origin)
    {
        if (unitsPerSecond <= 0) return null;
        if (bucket == null) return new TokenBucket(unitsPerSecond, burstSeconds, 1, origin);
        if (bucket.UnitsPerSecond != unitsPerSecond || bucket.BurstSeconds != burstSeconds) bucket.Reshape(now, unitsPerSecond, burstSeconds);
        return bucket;
    }

    /// <summary>The per-partition-key buckets of a table (slot = partition hash), allocated on first use; zero = full.</summary>
    internal long[] Slots(bool read)
    {
        ref var slots = ref read ? ref _readSlots : ref _writeSlots;
        return Volatile.Read(ref slots) ?? Interlocked.CompareExchange(ref slots, new long[PartitionSlots], null) ?? slots!;
    }

    internal static int SlotOf(uint partitionHash) => (int)(partitionHash & (PartitionSlots - 1));

    /// <summary>Counts one throttle event (a request, or an item of a batch, refused here).</summary>
    internal void CountEvent(bool read) => Interlocked.Increment(ref read ? ref _throttledReads : ref _throttledWrites);

    /// <summary>Counts one throttled request (once, however many of its items were refused).</summary>
    internal void CountRequest() => Interlocked.Increment(ref _throttledRequests);

    /// <summary>Starts a new per-minute sample when the minute changed; called on the request path with its clock reading.</summary>
    internal void Tick(long now)
    {
        var minute = now / TimeSpan.TicksPerMinute;
        if (minute != Volatile.Read(ref _minute)) Roll(minute);
    }

    private void Roll(long minute)
    {
        lock (_lock)
        {
            var current = _minute;
            if (minute <= current) return;
            var first = current < 0 ? minute : Math.Max(current + 1, minute - RingMinutes + 1);
            for (var m = first; m <= minute; m++)
            {
                _ring[m % RingMinutes] = new MinuteSample(m, _meter.ReadMilli, _meter.WriteMilli, ThrottledReads, ThrottledWrites, _provisionedRead, _provisionedWrite);
            }

            Volatile.Write(ref _minute, minute);
        }
    }

    /// <summary>
    /// Writes this table's or index's capacity metrics: provisioned units, throttle counts, the burst left in each
    /// bucket, and per minute (oldest first, the current minute last) consumed and provisioned units and throttles.
    /// </summary>
    public void WriteMetrics(Utf8JsonWriter w, long now)
    {
        Tick(now);
        var read = Bucket(true);
        var write = Bucket(false);
        w.WriteString("BillingMode"u8, OnDemand ? "PAY_PER_REQUEST" : "PROVISIONED");
        w.WriteNumber("ProvisionedReadCapacityUnits"u8, _provisionedRead);
        w.WriteNumber("ProvisionedWriteCapacityUnits"u8, _provisionedWrite);
        if (OnDemand)
        {
            if (read != null) w.WriteNumber("MaxReadRequestUnits"u8, read.UnitsPerSecond);
            if (write != null) w.WriteNumber("MaxWriteRequestUnits"u8, write.UnitsPerSecond);
        }

        w.WriteNumber("ThrottledRequests"u8, ThrottledRequests);
        w.WriteNumber("ReadThrottleEvents"u8, ThrottledReads);
        w.WriteNumber("WriteThrottleEvents"u8, ThrottledWrites);
        if (read != null) w.WriteNumber("ReadCapacityRemaining"u8, Math.Round(read.Balance(now), 3));
        if (write != null) w.WriteNumber("WriteCapacityRemaining"u8, Math.Round(write.Balance(now), 3));
        w.WriteStartArray("Minutes"u8);
        lock (_lock)
        {
            var last = _minute;
            for (var m = last - RingMinutes + 1; m <= last; m++)
            {
                if (m < 0) continue;
                var s = _ring[m % RingMinutes];
                if (s.Minute != m) continue;
                var next = m == last
                    ? new MinuteSample(m + 1, _meter.ReadMilli, _meter.WriteMilli, ThrottledReads, ThrottledWrites, 0, 0)
                    : _ring[(m + 1) % RingMinutes];
                w.WriteStartObject();
                w.WriteString("Minute"u8, new DateTime(m * TimeSpan.TicksPerMinute, DateTimeKind.Utc));
                w.WriteNumber("ConsumedReadCapacityUnits"u8, (next.ReadMilli - s.ReadMilli) / 1000.0);
                w.WriteNumber("ConsumedWriteCapacityUnits"u8, (next.WriteMilli - s.WriteMilli) / 1000.0);
                w.WriteNumber("ProvisionedReadCapacityUnits"u8, s.ProvisionedRead);
                w.WriteNumber("ProvisionedWriteCapacityUnits"u8, s.ProvisionedWrite);
                w.WriteNumber("ReadThrottleEvents"u8, next.ThrottledReads - s.ThrottledReads);
                w.WriteNumber("WriteThrottleEvents"u8, next.ThrottledWrites - s.ThrottledWrites);
                w.WriteEndObject();
            }
        }

        w.WriteEndArray();
    }

    private readonly record struct MinuteSample(
        long Minute, long ReadMilli, long WriteMilli, long ThrottledReads, long ThrottledWrites, double ProvisionedRead, double ProvisionedWrite);
}
