namespace Serverless.Engine.Storage.Index;

/// <summary>What one layer of an ordered index knows about a key.</summary>
internal enum KeyState : byte
{
    /// <summary>This layer says nothing: look in older layers.</summary>
    Absent,
    Live,

    /// <summary>Removed here; older layers may still hold it and must be hidden.</summary>
    Tombstone,
}

/// <summary>
/// The mutable, in-memory layer of an ordered index: a two-level B-tree (a sorted list of sorted chunks of at most
/// <see cref="MaxChunk"/> entries, found by binary search over the chunks' first keys) of keys, each live or a
/// tombstone. Writers take the write lock; readers copy bounded batches under the read lock. Once frozen (by a
/// checkpoint) it no longer changes: writers that find it frozen retry on the index's new memtable.
/// </summary>
internal sealed class MemTable
{
    private const int MaxChunk = 256;

    private readonly List<Chunk> _chunks = [];
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private bool _frozen;
    private int _entries;

    private sealed class Chunk
    {
        public readonly List<byte[]> Keys = new(MaxChunk + 1);

        /// <summary>Parallel to <see cref="Keys"/>: true for a tombstone.</summary>
        public readonly List<bool> Dead = new(MaxChunk + 1);
    }

    /// <summary>Entries, live and tombstones.</summary>
    public int Entries => Volatile.Read(ref _entries);

    public bool IsFrozen => Volatile.Read(ref _frozen);

    /// <summary>Stops all changes; returns false when it already was frozen.</summary>
    public bool Freeze()
    {
        _lock.EnterWriteLock();
        try
        {
            if (_frozen) return false;
            _frozen = true;
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public KeyState Find(ReadOnlySpan<byte> key)
    {
        _lock.EnterReadLock();
        try
        {
            if (_chunks.Count == 0) return KeyState.Absent;
            var chunk = _chunks[ChunkFor(key)];
            var i = Search(chunk.Keys, key);
            return i < 0 ? KeyState.Absent : chunk.Dead[i] ? KeyState.Tombstone : KeyState.Live;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Runs one change under the write lock: <paramref name="decide"/> sees this layer's state of the key and returns
    /// what to store (<see cref="KeyState.Absent"/> erases the entry) and the caller's result. Null when frozen.
    /// </summary>
    public bool? Change<TState>(byte[]? keyArray, ReadOnlySpan<byte> key, TState state, Func<KeyState, TState, (KeyState Store, bool Result)> decide)
    {
        _lock.EnterWriteLock();
        try
        {
            if (_frozen) return null;
            int c = 0, i = ~0;
            if (_chunks.Count > 0)
            {
                c = ChunkFor(key);
                i = Search(_chunks[c].Keys, key);
            }

            var here = i < 0 ? KeyState.Absent : _chunks[c].Dead[i] ? KeyState.Tombstone : KeyState.Live;
            var (store, result) = decide(here, state);
            if (store == here) return result;
            if (store == KeyState.Absent)
            {
                var chunk = _chunks[c];
                chunk.Keys.RemoveAt(i);
                chunk.Dead.RemoveAt(i);
                if (chunk.Keys.Count == 0) _chunks.RemoveAt(c);
                _entries--;
            }
            else if (here != KeyState.Absent)
            {
                _chunks[c].Dead[i] = store == KeyState.Tombstone;
            }
            else
            {
                Insert(c, ~i, keyArray ?? key.ToArray(), store == KeyState.Tombstone);
            }

            return result;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private void Insert(int c, int at, byte[] key, bool dead)
    {
        _entries++;
        if (_chunks.Count == 0)
        {
            var first = new Chunk();
            first.Keys.Add(key);
            first.Dead.Add(dead);
            _chunks.Add(first);
            return;
        }

        var chunk = _chunks[c];
        chunk.Keys.Insert(at, key);
        chunk.Dead.Insert(at, dead);
        if (chunk.Keys.Count <= MaxChunk) return;
        var half = chunk.Keys.Count / 2;
        var right = new Chunk();
        right.Keys.AddRange(chunk.Keys.GetRange(half, chunk.Keys.Count - half));
        right.Dead.AddRange(chunk.Dead.GetRange(half, chunk.Dead.Count - half));
        chunk.Keys.RemoveRange(half, chunk.Keys.Count - half);
        chunk.Dead.RemoveRange(half, chunk.Dead.Count - half);
        _chunks.Insert(c + 1, right);
    }

    /// <summary>
    /// Copies into <paramref name="keys"/>/<paramref name="dead"/> up to <paramref name="max"/> entries from
    /// <paramref name="from"/> (inclusive or not) in the given direction, tombstones included. Empty
    /// <paramref name="from"/> with <paramref name="start"/> set means the very first (or last) entry.
    /// </summary>
    public int Copy(ReadOnlySpan<byte> from, bool inclusive, bool start, bool forward, int max, byte[][] keys, bool[] dead)
    {
        var n = 0;
        _lock.EnterReadLock();
        try
        {
            if (_chunks.Count == 0) return 0;
            int c, i;
            if (forward)
            {
                if (start)
                {
                    c = 0;
                    i = 0;
                }
                else
                {
                    c = ChunkFor(from);
                    i = Search(_chunks[c].Keys, from);
                    i = i >= 0 ? (inclusive ? i : i + 1) : ~i;
                }

                for (; c < _chunks.Count; c++, i = 0)
                {
                    var chunk = _chunks[c];
                    for (; i < chunk.Keys.Count; i++)
                    {
                        keys[n] = chunk.Keys[i];
                        dead[n] = chunk.Dead[i];
                        if (++n == max) return n;
                    }
                }
            }
            else
            {
                if (start)
                {
                    c = _chunks.Count - 1;
                    i = _chunks[c].Keys.Count - 1;
                }
                else
                {
                    c = ChunkFor(from);
                    i = Search(_chunks[c].Keys, from);
                    i = i >= 0 ? (inclusive ? i : i - 1) : ~i - 1;
                }

                for (; c >= 0; c--, i = c >= 0 ? _chunks[c].Keys.Count - 1 : 0)
                {
                    var chunk = _chunks[c];
                    for (; i >= 0; i--)
                    {
                        keys[n] = chunk.Keys[i];
                        dead[n] = chunk.Dead[i];
                        if (++n == max) return n;
                    }
                }
            }

            return n;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Index of the last chunk whose first key is &lt;= key, or 0.</summary>
    private int ChunkFor(ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = _chunks.Count - 1, result = 0;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_chunks[mid].Keys[0].AsSpan().SequenceCompareTo(key) <= 0)
            {
                result = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return result;
    }

    /// <summary>Binary search: the index of the key, or the bitwise complement of its insertion point.</summary>
    private static int Search(List<byte[]> keys, ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = keys.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var cmp = keys[mid].AsSpan().SequenceCompareTo(key);
            if (cmp == 0) return mid;
            if (cmp < 0) lo = mid + 1;
            else hi = mid - 1;
        }

        return ~lo;
    }
}
