using System.Buffers;
using FASTER.core;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>
/// Values read by a <see cref="FasterStore.StoreReader"/> whose reads went to disk, by the slot each read was issued
/// with: kept in one growing buffer until read back in slot order.
/// </summary>
public sealed class ReadSlots : IDisposable
{
    private readonly PooledBufferWriter _data = new(4096);
    private int[] _start = new int[16];
    private int[] _length = new int[16];

    /// <summary>Empties every slot below <paramref name="count"/>.</summary>
    public void Reset(int count)
    {
        _data.Clear();
        if (_start.Length < count)
        {
            _start = new int[count];
            _length = new int[count];
        }

        Array.Fill(_length, -1, 0, count);
    }

    public void Set(int slot, ReadOnlySpan<byte> value)
    {
        _start[slot] = _data.WrittenCount;
        _data.Write(value);
        _length[slot] = value.Length;
    }

    /// <summary>The value read into <paramref name="slot"/>; false when the key was not found.</summary>
    public bool TryGet(int slot, out ReadOnlySpan<byte> value)
    {
        var length = _length[slot];
        value = length < 0 ? default : _data.WrittenSpan.Slice(_start[slot], length);
        return length >= 0;
    }

    public void Dispose() => _data.Dispose();
}

public sealed partial class FasterStore
{
    /// <summary>
    /// A session held for a run of reads (a Query or Scan page, a BatchGetItem): call <see cref="StoreReader.Dispose"/>
    /// once, when done. Holding one session avoids a rent per key, and lets the reads that go to disk be issued
    /// together and awaited together.
    /// </summary>
    public StoreReader OpenReader() => new(Rent());

    /// <summary>
    /// Warms every key of <paramref name="keys"/> (see <see cref="Warm"/>) without a thread waiting for the disk: the
    /// reads of records on disk are issued together and awaited together. In memory, it completes synchronously.
    /// </summary>
    public ValueTask WarmAsync(IReadOnlyList<byte[]> keys)
    {
        var session = Rent();
        bool pending;
        try
        {
            pending = session.StartWarm(keys);
        }
        catch
        {
            Return(session);
            throw;
        }

        if (!pending)
        {
            Return(session);
            return ValueTask.CompletedTask;
        }

        return FinishWarmAsync(session);
    }

    private async ValueTask FinishWarmAsync(Session session)
    {
        try
        {
            await session.CompleteWarmAsync().ConfigureAwait(false);
        }
        finally
        {
            _sessions.Enqueue(session);
        }
    }

    /// <summary>
    /// Reads on one rented session. A read of a record in memory completes at once, into the caller's buffer (the
    /// common case, at the cost of <see cref="TryRead"/>); one of a record on disk returns <see cref="StoreRead.Pending"/>
    /// with its disk read running on a reader thread, and the caller may issue more before awaiting them all with
    /// <see cref="CompletePendingAsync"/>, which puts each value in its slot. No lock is involved: a value is the key's
    /// at some moment during the call, as an eventually consistent read allows.
    /// </summary>
    public readonly struct StoreReader : IDisposable
    {
        private readonly Session _session;

        internal StoreReader(Session session) => _session = session;

        /// <summary>Whether reads issued since the last <see cref="CompletePendingAsync"/> are still in flight.</summary>
        public bool HasPending => _session.PendingReads > 0;

        /// <summary>
        /// Reads <paramref name="key"/>: Found or NotFound (written to <paramref name="destination"/>), or Pending, when
        /// its value goes to <paramref name="slot"/> of the <see cref="ReadSlots"/> given to <see cref="CompletePendingAsync"/>.
        /// </summary>
        public StoreRead Read(ReadOnlySpan<byte> key, IBufferWriter<byte> destination, int slot) => _session.ReadOrIssue(key, destination, slot);

        /// <summary>Awaits every pending read; each found value goes to its slot in <paramref name="slots"/> (reset by the caller).</summary>
        public ValueTask CompletePendingAsync(ReadSlots slots) => _session.CompleteIssuedAsync(slots);

        /// <summary>Returns the session (completing, synchronously, reads still in flight after a failure).</summary>
        public void Dispose()
        {
            if (_session.PendingReads > 0) _session.DrainIssued();
            _session.Owner._sessions.Enqueue(_session);
        }
    }

    internal sealed partial class Session
    {
        /// <summary>Reads issued by <see cref="ReadOrIssue"/> and not yet completed.</summary>
        public int PendingReads { get; private set; }

        public unsafe StoreRead ReadOrIssue(ReadOnlySpan<byte> key, IBufferWriter<byte> destination, int slot)
        {
            fixed (byte* k = key)
            {
                var keySb = SpanByte.FromPointer(k, key.Length);
                // A pending read keeps its output until it completes, so only the first one in flight may use the
                // scratch buffer; later ones (and in-memory reads meanwhile) get their values on the heap.
                var output = PendingReads == 0 ? SpanByteAndMemory.FromFixedSpan(_scratch) : default;
                var status = ReadDeferring(ref keySb, ref output, slot);
                if (status.IsPending)
                {
                    PendingReads++;
                    return StoreRead.Pending;
                }

                return Copy(status, ref output, destination) ? StoreRead.Found : StoreRead.NotFound;
            }
        }

        public async ValueTask CompleteIssuedAsync(ReadSlots slots)
        {
            using var outputs = await Raw.CompletePendingWithOutputsAsync().ConfigureAwait(false);
            PendingReads = 0;
            Owner.ThrowIfReadFailed();
            while (outputs.Next())
            {
                ref var completed = ref outputs.Current;
                var output = completed.Output;
                if (completed.Status.Found) slots.Set((int)completed.Context, output.IsSpanByte ? output.SpanByte.AsReadOnlySpan() : output.Memory.Memory.Span[..output.Length]);
                if (!output.IsSpanByte) output.Memory.Dispose();
            }
        }

        public void DrainIssued()
        {
            Raw.CompletePendingWithOutputs(out var outputs, wait: true);
            using (outputs)
            {
                while (outputs.Next())
                {
                    var output = outputs.Current.Output;
                    if (!output.IsSpanByte) output.Memory.Dispose();
                }
            }

            PendingReads = 0;
        }

        /// <summary>The log's tail before <see cref="StartWarm"/> issued its reads (see <see cref="CopyToTail"/>).</summary>
        private long _warmFence;

        /// <summary>Issues a read of every key; true when some went to disk (finish with <see cref="CompleteWarmAsync"/>, which copies those to the tail).</summary>
        public unsafe bool StartWarm(IReadOnlyList<byte[]> keys)
        {
            _warmFence = Owner._kv.Log.TailAddress;
            var pending = 0;
            for (var i = 0; i < keys.Count; i++)
            {
                fixed (byte* k = keys[i])
                {
                    var keySb = SpanByte.FromPointer(k, keys[i].Length);
                    // A pending read keeps its output until it completes (its value is copied to the tail then), so
                    // only the first one in flight may use the scratch buffer.
                    var output = pending == 0 ? SpanByteAndMemory.FromFixedSpan(_scratch) : default;
                    var status = ReadDeferring(ref keySb, ref output, 0);
                    if (status.IsPending) pending++;
                    else if (!output.IsSpanByte) output.Memory?.Dispose();
                }
            }

            return pending > 0;
        }

        public async ValueTask CompleteWarmAsync()
        {
            using var outputs = await Raw.CompletePendingWithOutputsAsync().ConfigureAwait(false);
            Owner.ThrowIfReadFailed();
            while (outputs.Next())
            {
                var output = outputs.Current.Output;
                if (outputs.Current.Status.Found) CopyToTail(ref outputs.Current.Key, ref output, _warmFence);
                if (!output.IsSpanByte) output.Memory?.Dispose();
            }
        }
    }
}
