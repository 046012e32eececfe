using Serverless.Engine.Storage.Index;

namespace Serverless.Engine.Storage;

/// <summary>
/// An ordered set of byte keys, compared bytewise (the key encoding sorts as DynamoDB compares, so byte order is
/// Query's and Scan's order): one table's storage keys, a secondary index's entries, or a table's expiry entries.
/// <para>
/// A small log-structured merge tree: a mutable <see cref="MemTable"/> (live keys and tombstones) over, newest
/// first, the memtable a checkpoint froze (until its run is written) and immutable sorted runs on disk
/// (<see cref="IndexRun"/>: encrypted blocks read through the shared <see cref="BlockCache"/>). A key's state is
/// what the newest layer holding it says. Checkpoints freeze the memtable and write it as a run; compaction
/// merges runs (src/Engine/Storage/Index/IndexCheckpoint.cs). Thread-safe: the layers are one immutable
/// <see cref="Version"/> swapped atomically; range reads copy bounded batches and continue strictly after the last
/// key, so a long Scan never holds a lock across FASTER reads.
/// </para>
/// </summary>
public sealed class OrderedKeyIndex
{
    private Version _version;
    private long _count;

    /// <summary>An empty index.</summary>
    public OrderedKeyIndex()
        : this([], 0)
    {
    }

    internal OrderedKeyIndex(IndexRun[] runs, long count)
    {
        _version = new Version(new MemTable(), [], runs);
        _count = count;
    }

    /// <summary>
    /// The layers, newest first: the memtable, memtables a checkpoint froze and has not written yet (more than one
    /// only when a checkpoint failed), the runs.
    /// </summary>
    internal sealed record Version(MemTable Mem, MemTable[] Frozen, IndexRun[] Runs);

    internal Version Current => Volatile.Read(ref _version);

    /// <summary>Live keys.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Adds a key (the array may be kept; do not modify it). False when it was already present.</summary>
    public bool Add(byte[] key) => Change(key, key, add: true, absentBelow: false);

    /// <summary>
    /// Adds a key the caller knows is not live in the index (its item did not exist, under the item's lock), so
    /// the layers under the memtable are not searched: on a table with runs, a write of a new item would otherwise
    /// read a run's block for every bloom-filter false positive, which filled the block cache during a bulk load.
    /// </summary>
    public bool AddAbsent(byte[] key) => Change(key, key, add: true, absentBelow: true);

    /// <summary>Removes a key; false when it was absent.</summary>
    public bool Remove(ReadOnlySpan<byte> key) => Change(null, key, add: false, absentBelow: false);

    public bool Contains(ReadOnlySpan<byte> key)
    {
        var v = Current;
        return StateBelowMem(v, key, includeMem: true) == KeyState.Live;
    }

    private bool Change(byte[]? array, ReadOnlySpan<byte> key, bool add, bool absentBelow)
    {
        while (true)
        {
            var v = Current;
            var below = absentBelow || (v.Frozen.Length == 0 && v.Runs.Length == 0) ? KeyState.Absent : StateBelowMem(v, key, includeMem: false);
            var result = add
                ? v.Mem.Change(array, key, below, static (here, below) => Add(here, below))
                : v.Mem.Change(array, key, below, static (here, below) => Remove(here, below));
            if (result is not { } changed) continue; // frozen by a checkpoint meanwhile: the new memtable takes it
            if (changed) Interlocked.Add(ref _count, add ? 1 : -1);
            return changed;
        }
    }

    private static (KeyState, bool) Add(KeyState here, KeyState below) =>
        here == KeyState.Live || (here == KeyState.Absent && below == KeyState.Live) ? (here, false) : (KeyState.Live, true);

    private static (KeyState, bool) Remove(KeyState here, KeyState below)
    {
        var live = here == KeyState.Live || (here == KeyState.Absent && below == KeyState.Live);
        if (!live) return (here, false);

        // Older layers hold the key (or may: a frozen memtable's, a run's): hide it with a tombstone.
        return (below == KeyState.Absent ? KeyState.Absent : KeyState.Tombstone, true);
    }

    /// <summary>The key's state in the layers under the memtable (or in all of them).</summary>
    private static KeyState StateBelowMem(Version v, ReadOnlySpan<byte> key, bool includeMem)
    {
        if (includeMem && v.Mem.Find(key) is var m && m != KeyState.Absent) return m;
        foreach (var frozen in v.Frozen)
        {
            var f = frozen.Find(key);
            if (f != KeyState.Absent) return f;
        }

        foreach (var run in v.Runs)
        {
            var s = run.Find(key);
            if (s != KeyState.Absent) return s;
        }

        return KeyState.Absent;
    }

    /// <summary>
    /// Appends to <paramref name="output"/> up to <paramref name="max"/> keys between <paramref name="lower"/> and
    /// <paramref name="upper"/> (each inclusive or exclusive), ascending when <paramref name="forward"/>, else
    /// descending. Returns how many were appended; fewer than <paramref name="max"/> means the range is exhausted.
    /// </summary>
    public int Read(ReadOnlySpan<byte> lower, bool lowerInclusive, ReadOnlySpan<byte> upper, bool upperInclusive, bool forward, int max, List<byte[]> output)
    {
        if (max <= 0) return 0;
        var v = Current;
        if (v.Frozen.Length == 0 && v.Runs.Length == 0) return ReadMem(v.Mem, lower, lowerInclusive, upper, upperInclusive, forward, max, output);
        using var merge = new MergeCursor(v, forward ? lower : upper, forward ? lowerInclusive : upperInclusive, forward);
        var added = 0;
        while (merge.MoveNext(keepTombstones: false))
        {
            var k = merge.Key;
            var cmp = forward ? k.AsSpan().SequenceCompareTo(upper) : lower.SequenceCompareTo(k);
            if (cmp > 0 || (cmp == 0 && !(forward ? upperInclusive : lowerInclusive))) break;
            output.Add(k);
            if (++added == max) break;
        }

        return added;
    }

    /// <summary>The common case (nothing on disk yet): one memtable, no tombstones to hide.</summary>
    private static int ReadMem(MemTable mem, ReadOnlySpan<byte> lower, bool lowerInclusive, ReadOnlySpan<byte> upper, bool upperInclusive, bool forward, int max, List<byte[]> output)
    {
        var batch = Math.Min(max, 128);
        var keys = new byte[batch][];
        var dead = new bool[batch];
        var added = 0;
        byte[]? from = null;
        while (true)
        {
            var want = Math.Min(batch, max - added);
            var n = from == null
                ? mem.Copy(forward ? lower : upper, forward ? lowerInclusive : upperInclusive, false, forward, want, keys, dead)
                : mem.Copy(from, false, false, forward, want, keys, dead);
            for (var i = 0; i < n; i++)
            {
                if (dead[i]) continue;
                var k = keys[i];
                var cmp = forward ? k.AsSpan().SequenceCompareTo(upper) : lower.SequenceCompareTo(k);
                if (cmp > 0 || (cmp == 0 && !(forward ? upperInclusive : lowerInclusive))) return added;
                output.Add(k);
                if (++added == max) return added;
            }

            if (n < want) return added;
            from = keys[n - 1];
        }
    }

    /// <summary>
    /// Freezes the memtable for a checkpoint: later changes go to a fresh one, the frozen one stays readable until
    /// <see cref="Flushed"/>. Returns every frozen memtable not yet written, newest first (those of a checkpoint that
    /// failed, too), which the checkpoint writes oldest first. The caller (the checkpoint) is the only one that
    /// changes layers.
    /// </summary>
    internal MemTable[] Freeze()
    {
        var v = Current;
        if (v.Mem.Entries == 0) return v.Frozen;
        v.Mem.Freeze();
        MemTable[] frozen = [v.Mem, .. v.Frozen];
        Volatile.Write(ref _version, v with { Mem = new MemTable(), Frozen = frozen });
        return frozen;
    }

    /// <summary>
    /// The oldest frozen memtable, <paramref name="mem"/>, is now <paramref name="run"/> (null when it wrote
    /// nothing): it becomes the newest run.
    /// </summary>
    internal void Flushed(MemTable mem, IndexRun? run)
    {
        var v = Current;
        if (v.Frozen.Length == 0 || !ReferenceEquals(v.Frozen[^1], mem)) throw new InvalidOperationException("Frozen memtables are written oldest first.");
        Volatile.Write(ref _version, v with { Frozen = v.Frozen[..^1], Runs = run == null ? v.Runs : [run, .. v.Runs] });
    }

    /// <summary>Replaces the runs (after a compaction); the caller disposes the ones no longer listed.</summary>
    internal void ReplaceRuns(IndexRun[] runs)
    {
        var v = Current;
        Volatile.Write(ref _version, v with { Runs = runs });
    }

    /// <summary>
    /// A k-way merge over a version's layers (newest first wins on equal keys), from a key in one direction.
    /// Compaction uses it with tombstones kept.
    /// </summary>
    internal sealed class MergeCursor : IDisposable
    {
        private readonly ILayerCursor[] _layers;
        private readonly bool _forward;

        public MergeCursor(Version v, ReadOnlySpan<byte> from, bool inclusive, bool forward, bool fromEnd = false)
            : this(Layers(v), from, inclusive, forward, fromEnd)
        {
        }

        public MergeCursor(ILayerCursor[] layers, ReadOnlySpan<byte> from, bool inclusive, bool forward, bool fromEnd = false)
        {
            _layers = layers;
            _forward = forward;
            foreach (var l in _layers) l.Seek(from, inclusive, forward, fromEnd);
        }

        private static ILayerCursor[] Layers(Version v)
        {
            var layers = new List<ILayerCursor>(2 + v.Runs.Length) { new MemCursor(v.Mem) };
            foreach (var f in v.Frozen) layers.Add(new MemCursor(f));
            foreach (var r in v.Runs) layers.Add(new RunCursor(r));
            return [.. layers];
        }

        public byte[] Key { get; private set; } = [];

        public bool Dead { get; private set; }

        public bool MoveNext(bool keepTombstones)
        {
            while (true)
            {
                var best = -1;
                for (var i = 0; i < _layers.Length; i++)
                {
                    if (!_layers[i].Valid) continue;
                    if (best < 0)
                    {
                        best = i;
                        continue;
                    }

                    var cmp = _layers[i].Key.SequenceCompareTo(_layers[best].Key);
                    if (_forward ? cmp < 0 : cmp > 0) best = i;
                }

                if (best < 0) return false;
                var key = _layers[best].KeyArray();
                var dead = _layers[best].Dead;
                for (var i = 0; i < _layers.Length; i++)
                {
                    if (_layers[i].Valid && (i == best || _layers[i].Key.SequenceEqual(key))) _layers[i].Next();
                }

                if (dead && !keepTombstones) continue;
                Key = key;
                Dead = dead;
                return true;
            }
        }

        public void Dispose()
        {
        }
    }

    internal interface ILayerCursor
    {
        bool Valid { get; }

        ReadOnlySpan<byte> Key { get; }

        bool Dead { get; }

        byte[] KeyArray();

        void Seek(ReadOnlySpan<byte> from, bool inclusive, bool forward, bool fromEnd);

        void Next();
    }

    /// <summary>Reads a memtable in batches copied under its read lock, each continuing strictly after the last.</summary>
    internal sealed class MemCursor(MemTable mem) : ILayerCursor
    {
        private const int Batch = 64;
        private readonly byte[][] _keys = new byte[Batch][];
        private readonly bool[] _dead = new bool[Batch];
        private int _n;
        private int _i;
        private bool _forward;

        public bool Valid => _i < _n;

        public ReadOnlySpan<byte> Key => _keys[_i];

        public bool Dead => _dead[_i];

        public byte[] KeyArray() => _keys[_i];

        public void Seek(ReadOnlySpan<byte> from, bool inclusive, bool forward, bool fromEnd)
        {
            _forward = forward;
            _n = mem.Copy(from, inclusive, fromEnd, forward, Batch, _keys, _dead);
            _i = 0;
        }

        public void Next()
        {
            if (++_i < _n) return;
            if (_n < Batch) return;
            var last = _keys[_n - 1];
            _n = mem.Copy(last, false, false, _forward, Batch, _keys, _dead);
            _i = 0;
        }
    }

    /// <summary>Reads a run block by block through the cache.</summary>
    internal sealed class RunCursor(IndexRun run) : ILayerCursor
    {
        private RunBlock? _block;
        private int _b;
        private int _i;
        private bool _forward;

        public bool Valid => _block != null;

        public ReadOnlySpan<byte> Key => _block!.Key(_i);

        public bool Dead => _block!.IsDead(_i);

        public byte[] KeyArray() => _block!.Key(_i).ToArray();

        public void Seek(ReadOnlySpan<byte> from, bool inclusive, bool forward, bool fromEnd)
        {
            _forward = forward;
            _block = null;
            if (run.Blocks == 0) return;
            if (fromEnd)
            {
                _b = forward ? 0 : run.Blocks - 1;
                _block = run.Block(_b);
                _i = forward ? 0 : _block.Count - 1;
                Settle();
                return;
            }

            _b = run.BlockFor(from);
            if (_b < 0)
            {
                if (!forward) return;
                _b = 0;
                _block = run.Block(0);
                _i = 0;
                Settle();
                return;
            }

            _block = run.Block(_b);
            var i = _block.Search(from);
            _i = forward ? (i >= 0 ? (inclusive ? i : i + 1) : ~i) : (i >= 0 ? (inclusive ? i : i - 1) : ~i - 1);
            Settle();
        }

        public void Next()
        {
            _i += _forward ? 1 : -1;
            Settle();
        }

        /// <summary>Moves to the neighbouring block when the position fell off this one.</summary>
        private void Settle()
        {
            while (_block != null && (_i < 0 || _i >= _block.Count))
            {
                _b += _forward ? 1 : -1;
                if (_b < 0 || _b >= run.Blocks)
                {
                    _block = null;
                    return;
                }

                _block = run.Block(_b);
                _i = _forward ? 0 : _block.Count - 1;
            }
        }
    }
}
