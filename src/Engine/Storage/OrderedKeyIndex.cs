namespace Serverless.Engine.Storage;

/// <summary>
/// The ordered set of one table's storage keys, compared bytewise (the key encoding sorts as DynamoDB compares, so
/// byte order is Query's and Scan's order). A two-level B-tree: a sorted list of sorted chunks of at most
/// <see cref="MaxChunk"/> keys, found by binary search over the chunks' first keys. Thread-safe: writers take the
/// write lock, range reads collect a bounded batch under the read lock and continue from the last key.
/// </summary>
public sealed class OrderedKeyIndex
{
    private const int MaxChunk = 256;

    private readonly List<List<byte[]>> _chunks = [];
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    /// <summary>Adds a key (the array is kept; do not modify it). False when it was already present.</summary>
    public bool Add(byte[] key)
    {
        _lock.EnterWriteLock();
        try
        {
            if (_chunks.Count == 0)
            {
                _chunks.Add([key]);
                Interlocked.Increment(ref _count);
                return true;
            }

            var c = ChunkFor(key);
            var chunk = _chunks[c];
            var i = Search(chunk, key);
            if (i >= 0) return false;
            chunk.Insert(~i, key);
            if (chunk.Count > MaxChunk)
            {
                var half = chunk.Count / 2;
                var right = chunk.GetRange(half, chunk.Count - half);
                chunk.RemoveRange(half, chunk.Count - half);
                _chunks.Insert(c + 1, right);
            }

            Interlocked.Increment(ref _count);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes a key; false when it was absent.</summary>
    public bool Remove(ReadOnlySpan<byte> key)
    {
        _lock.EnterWriteLock();
        try
        {
            if (_chunks.Count == 0) return false;
            var c = ChunkFor(key);
            var chunk = _chunks[c];
            var i = Search(chunk, key);
            if (i < 0) return false;
            chunk.RemoveAt(i);
            if (chunk.Count == 0) _chunks.RemoveAt(c);
            Interlocked.Decrement(ref _count);
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public bool Contains(ReadOnlySpan<byte> key)
    {
        _lock.EnterReadLock();
        try
        {
            return _chunks.Count > 0 && Search(_chunks[ChunkFor(key)], key) >= 0;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// Appends to <paramref name="output"/> up to <paramref name="max"/> keys between <paramref name="lower"/> and
    /// <paramref name="upper"/> (each inclusive or exclusive), ascending when <paramref name="forward"/>, else
    /// descending. Returns how many were appended; fewer than <paramref name="max"/> means the range is exhausted.
    /// </summary>
    public int Read(ReadOnlySpan<byte> lower, bool lowerInclusive, ReadOnlySpan<byte> upper, bool upperInclusive, bool forward, int max, List<byte[]> output)
    {
        var added = 0;
        _lock.EnterReadLock();
        try
        {
            if (_chunks.Count == 0 || max <= 0) return 0;
            if (forward)
            {
                var c = ChunkFor(lower);
                var i = Search(_chunks[c], lower);
                i = i >= 0 ? (lowerInclusive ? i : i + 1) : ~i;
                for (; c < _chunks.Count; c++, i = 0)
                {
                    var chunk = _chunks[c];
                    for (; i < chunk.Count; i++)
                    {
                        var k = chunk[i];
                        var cmp = k.AsSpan().SequenceCompareTo(upper);
                        if (cmp > 0 || (cmp == 0 && !upperInclusive)) return added;
                        output.Add(k);
                        if (++added == max) return added;
                    }
                }
            }
            else
            {
                var c = ChunkFor(upper);
                var i = Search(_chunks[c], upper);
                i = i >= 0 ? (upperInclusive ? i : i - 1) : ~i - 1;
                for (; c >= 0; c--, i = c >= 0 ? _chunks[c].Count - 1 : 0)
                {
                    var chunk = _chunks[c];
                    for (; i >= 0; i--)
                    {
                        var k = chunk[i];
                        var cmp = k.AsSpan().SequenceCompareTo(lower);
                        if (cmp < 0 || (cmp == 0 && !lowerInclusive)) return added;
                        output.Add(k);
                        if (++added == max) return added;
                    }
                }
            }

            return added;
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
            if (_chunks[mid][0].AsSpan().SequenceCompareTo(key) <= 0)
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
    private static int Search(List<byte[]> chunk, ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = chunk.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var cmp = chunk[mid].AsSpan().SequenceCompareTo(key);
            if (cmp == 0) return mid;
            if (cmp < 0) lo = mid + 1;
            else hi = mid - 1;
        }

        return ~lo;
    }
}
