using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Capacity;

/// <summary>What refused a request: nothing, provisioned throughput, a partition key's limit, or an on-demand maximum.</summary>
internal enum RefusalKind : byte
{
    None,
    Provisioned,
    KeyRange,
    MaxOnDemand,
}

/// <summary>One action of a transaction to admit: its item, the units it needs at least, and the GSIs it may update.</summary>
internal readonly record struct Charge(TableState Table, byte[] Key, double Estimate, bool Read, ulong IndexMask);

/// <summary>Why an admission failed, and where (the table or index whose limit was reached).</summary>
internal readonly record struct Refusal(RefusalKind Kind, ThroughputState? State, bool Read)
{
    public bool Refused => Kind != RefusalKind.None;
}

/// <summary>
/// What an admitted request reserved: the units taken from its table's or index's bucket (and its partition key's)
/// before it ran. <see cref="CapacityGate.Settle"/> charges the difference to what it consumed.
/// </summary>
internal readonly struct Admission
{
    internal Admission(ThroughputState state, long[]? slots, int slot, long reservedMilli, bool read, long now, bool enforced)
    {
        State = state;
        Slots = slots;
        Slot = slot;
        ReservedMilli = reservedMilli;
        Read = read;
        Now = now;
        Enforced = enforced;
    }

    public ThroughputState? State { get; }

    public long[]? Slots { get; }

    public int Slot { get; }

    public long ReservedMilli { get; }

    public bool Read { get; }

    public long Now { get; }

    public bool Enforced { get; }
}

/// <summary>
/// Capacity admission for every data-plane request: one call per operation after validation and before storage
/// (<c>TryAdmitRead</c>/<c>TryAdmitWrite</c>), then one <see cref="Settle"/> with the units the operation consumed,
/// by the rounding rules of ConsumedCapacity. A request is admitted when its table (or GSI) and its partition key
/// hold the units it is known to need (the minimum for reads whose size is unknown until they ran); the rest is
/// charged after, and may leave the bucket in debt, as DynamoDB does. Writes are also refused while a GSI they
/// would update is out of write capacity; each GSI is charged its own writes by the index maintenance
/// (<see cref="SecondaryIndex.ChargeWrite"/>).
/// </summary>
public sealed class CapacityGate
{
    private readonly CapacityOptions _options;
    private readonly TimeProvider _time;
    private readonly double _partitionReadTicksPerMilli;
    private readonly double _partitionWriteTicksPerMilli;

    public CapacityGate(CapacityOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _partitionReadTicksPerMilli = TimeSpan.TicksPerSecond / (options.PartitionReadUnits * 1000.0);
        _partitionWriteTicksPerMilli = TimeSpan.TicksPerSecond / (options.PartitionWriteUnits * 1000.0);
    }

    public CapacityOptions Options => _options;

    internal long Now() => _time.GetUtcNow().UtcTicks;

    /// <summary>
    /// Makes a table's and its GSIs' buckets follow a definition UpdateTable has just committed, so a new rate counts
    /// from the change, not from the next request.
    /// </summary>
    public void Refresh(TableState table)
    {
        var now = Now();
        var definition = table.Definition;
        table.Throughput.Ensure(definition, null, now, _options, changedNow: true);
        foreach (var index in table.Indexes)
        {
            if (index.Definition.Global) index.Throughput.Ensure(definition, index.Definition, now, _options, changedNow: true);
        }
    }

    /// <summary>
    /// Admits a read of <paramref name="estimateUnits"/> (at least) on a table, or on a global index when
    /// <paramref name="globalIndex"/> is set. <paramref name="partitionKey"/> is a storage key or partition prefix
    /// for reads of one partition (GetItem, Query), empty for reads across partitions (Scan) and index reads.
    /// </summary>
    internal Refusal TryAdmitRead(TableState table, SecondaryIndex? globalIndex, ReadOnlySpan<byte> partitionKey, double estimateUnits, out Admission admission)
    {
        var now = Now();
        var state = globalIndex?.Throughput ?? table.Throughput;
        state.Ensure(table.Definition, globalIndex?.Definition, now, _options);
        state.Tick(now);
        if (!_options.Enforce)
        {
            admission = new Admission(state, null, -1, 0, true, now, enforced: false);
            return default;
        }

        return TryTake(state, globalIndex == null ? partitionKey : default, ToMilli(estimateUnits), true, now, out admission);
    }

    /// <summary>
    /// Admits a write of <paramref name="estimateUnits"/> (at least) to the item under <paramref name="storageKey"/>;
    /// <paramref name="indexMask"/> has bit i set for each <see cref="TableState.Indexes"/>[i] the write may update
    /// (<see cref="IndexMask"/>).
    /// </summary>
    internal Refusal TryAdmitWrite(TableState table, ReadOnlySpan<byte> storageKey, double estimateUnits, ulong indexMask, out Admission admission)
    {
        var now = Now();
        var state = table.Throughput;
        var definition = table.Definition;
        state.Ensure(definition, null, now, _options);
        state.Tick(now);
        if (!_options.Enforce)
        {
            admission = new Admission(state, null, -1, 0, false, now, enforced: false);
            return default;
        }

        if (indexMask != 0)
        {
            var indexes = table.Indexes;
            for (var i = 0; i < indexes.Length && i < 64; i++)
            {
                if ((indexMask & (1UL << i)) == 0 || !indexes[i].Definition.Global) continue;
                var index = indexes[i].Throughput;
                index.Ensure(definition, indexes[i].Definition, now, _options);
                index.Tick(now);
                if (index.Bucket(false) is { } bucket && !bucket.HasCapacity(now))
                {
                    admission = default;
                    return Refuse(index.OnDemand ? RefusalKind.MaxOnDemand : RefusalKind.Provisioned, index, false);
                }
            }
        }

        return TryTake(state, storageKey, ToMilli(estimateUnits), false, now, out admission);
    }

    private Refusal TryTake(ThroughputState state, ReadOnlySpan<byte> partitionKey, long milli, bool read, long now, out Admission admission)
    {
        long[]? slots = null;
        var slot = -1;
        if (partitionKey.Length >= KeyCodec.HeaderLength)
        {
            slots = state.Slots(read);
            slot = ThroughputState.SlotOf(BinaryPrimitives.ReadUInt32BigEndian(partitionKey[4..]));
            if (!TryTakeSlot(slots, slot, now, milli, read))
            {
                admission = default;
                return Refuse(RefusalKind.KeyRange, state, read);
            }
        }

        if (state.Bucket(read) is { } bucket && !bucket.TryTake(now, milli))
        {
            if (slots != null) TakeSlot(slots, slot, now, -milli, read);
            admission = default;
            return Refuse(state.OnDemand ? RefusalKind.MaxOnDemand : RefusalKind.Provisioned, state, read);
        }

        admission = new Admission(state, slots, slot, milli, read, now, enforced: true);
        return default;
    }

    /// <summary>
    /// Admits every action of a transaction, or none: on the first refusal the earlier admissions are given back and
    /// its position is returned (-1 when all were admitted).
    /// </summary>
    internal int TryAdmitAll(ReadOnlySpan<Charge> charges, Admission[] admissions, out Refusal refusal)
    {
        for (var i = 0; i < charges.Length; i++)
        {
            var c = charges[i];
            refusal = c.Read
                ? TryAdmitRead(c.Table, null, c.Key, c.Estimate, out admissions[i])
                : TryAdmitWrite(c.Table, c.Key, c.Estimate, c.IndexMask, out admissions[i]);
            if (!refusal.Refused) continue;
            for (var j = 0; j < i; j++) Release(admissions[j]);
            return i;
        }

        refusal = default;
        return -1;
    }

    /// <summary>
    /// A transaction refused by capacity, as a whole: TransactionCanceledException with the refused action's reason
    /// (<c>ProvisionedThroughputExceeded</c> or <c>ThrottlingError</c>) and <c>None</c> for the others.
    /// </summary>
    internal static DynamoException TransactionThrottled(int actions, int refusedAt, in Refusal refusal)
    {
        refusal.State!.CountRequest();
        var reasons = new CancellationReason[actions];
        for (var i = 0; i < actions; i++) reasons[i] = i == refusedAt ? CancellationReasonFor(refusal) : CancellationReason.None;
        return DynamoErrors.TransactionCanceled(reasons);
    }

    /// <summary>Gives back what an admission reserved (a batch item or transaction that will not run after all).</summary>
    internal void Release(in Admission admission)
    {
        if (!admission.Enforced || admission.State is not { } state) return;
        state.Bucket(admission.Read)?.Take(admission.Now, -admission.ReservedMilli);
        if (admission.Slots != null) TakeSlot(admission.Slots, admission.Slot, admission.Now, -admission.ReservedMilli, admission.Read);
    }

    /// <summary>
    /// Charges what an admitted request consumed (the units it reports as ConsumedCapacity): meters them on the table
    /// or index, and takes from its buckets what the admission did not reserve, into debt if need be.
    /// </summary>
    internal void Settle(in Admission admission, double units)
    {
        if (admission.State is not { } state) return;
        state.Consumed.Add(units, admission.Read);
        if (!admission.Enforced) return;
        var rest = ToMilli(units) - admission.ReservedMilli;
        if (rest == 0) return;
        state.Bucket(admission.Read)?.Take(admission.Now, rest);
        if (admission.Slots != null) TakeSlot(admission.Slots, admission.Slot, admission.Now, rest, admission.Read);
    }

    /// <summary>Counts a refused request (once, however many of its items were refused) and returns its error.</summary>
    internal static DynamoException Throttled(in Refusal refusal)
    {
        refusal.State!.CountRequest();
        return ErrorFor(refusal);
    }

    /// <summary>Counts a refused request once (batch operations that still processed something).</summary>
    internal static void CountRequest(in Refusal refusal) => refusal.State!.CountRequest();

    /// <summary>The error DynamoDB sends for a refusal, with its ThrottlingReasons.</summary>
    internal static DynamoException ErrorFor(in Refusal refusal)
    {
        var (code, message, reason) = Describe(refusal);
        var arn = refusal.State!.Arn;
        return code == ProvisionedCode
            ? DynamoErrors.ProvisionedThroughputExceeded(message, reason, arn)
            : DynamoErrors.Throttling(message, reason, arn);
    }

    /// <summary>The cancellation reason a transaction reports for an action refused by capacity.</summary>
    internal static CancellationReason CancellationReasonFor(in Refusal refusal)
    {
        var (code, message, _) = Describe(refusal);
        return CancellationReason.Throttled(code, message);
    }

    private const string ProvisionedCode = "ProvisionedThroughputExceeded";
    private const string ThrottlingCode = "ThrottlingError";

    private static (string Code, string Message, string Reason) Describe(in Refusal refusal)
    {
        var state = refusal.State!;
        var reason = (state.IsIndex ? "Index" : "Table") + (refusal.Read ? "Read" : "Write") + refusal.Kind switch
        {
            RefusalKind.KeyRange => "KeyRangeThroughputExceeded",
            RefusalKind.MaxOnDemand => "MaxOnDemandThroughputExceeded",
            _ => "ProvisionedThroughputExceeded",
        };
        return refusal.Kind switch
        {
            RefusalKind.MaxOnDemand => (ThrottlingCode, DynamoErrors.MaxOnDemandThroughputMessage, reason),
            RefusalKind.KeyRange when state.OnDemand => (ThrottlingCode, DynamoErrors.OnDemandCapacityMessage, reason),
            _ => (ProvisionedCode, state.IsIndex ? DynamoErrors.IndexThroughputMessage : DynamoErrors.TableThroughputMessage, reason),
        };
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Refusal Refuse(RefusalKind kind, ThroughputState state, bool read)
    {
        state.CountEvent(read);
        return new Refusal(kind, state, read);
    }

    private static long ToMilli(double units) => (long)Math.Round(units * 1000);

    // Per-partition-key buckets: the same virtual-scheduling bucket as TokenBucket, one long per slot, holding one
    // second at the partition rate (burst does not apply to a partition's limit). A zeroed slot is a full bucket.
    private bool TryTakeSlot(long[] slots, int slot, long now, long milli, bool read)
    {
        var cost = (long)(milli * (read ? _partitionReadTicksPerMilli : _partitionWriteTicksPerMilli));
        var floor = now - TimeSpan.TicksPerSecond;
        ref var cell = ref slots[slot];
        while (true)
        {
            var emptyAt = Volatile.Read(ref cell);
            var next = (emptyAt < floor ? floor : emptyAt) + cost;
            if (next > now) return false;
            if (Interlocked.CompareExchange(ref cell, next, emptyAt) == emptyAt) return true;
        }
    }

    private void TakeSlot(long[] slots, int slot, long now, long milli, bool read)
    {
        var cost = (long)(milli * (read ? _partitionReadTicksPerMilli : _partitionWriteTicksPerMilli));
        var floor = now - TimeSpan.TicksPerSecond;
        ref var cell = ref slots[slot];
        while (true)
        {
            var emptyAt = Volatile.Read(ref cell);
            var next = (emptyAt < floor ? floor : emptyAt) + cost;
            if (Interlocked.CompareExchange(ref cell, next, emptyAt) == emptyAt) return;
        }
    }
}
