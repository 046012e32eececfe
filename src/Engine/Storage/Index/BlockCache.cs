namespace Serverless.Engine.Storage.Index;

/// <summary>
/// One decoded block of a run: its keys, each stored whole in <see cref="Data"/> (prefix compression undone), and
/// which are tombstones.
/// </summary>
internal sealed class RunBlock(byte[] data, int[] offsets, bool[]? dead)
{
    /// <summary>Key i is <c>Data[Offsets[i]..Offsets[i + 1]]</c>.</summary>
    public byte[] Data { get; } = data;

    public int[] Offsets { get; } = offsets;

    public bool[]? Dead { get; } = dead;

    public int Count => Offsets.Length - 1;

    public ReadOnlySpan<byte> Key(int i) => Data.AsSpan(Offsets[i], Offsets[i + 1] - Offsets[i]);

    public bool IsDead(int i) => Dead != null && Dead[i];

    public long Bytes => Data.Length + Offsets.Length * 4L + (Dead?.Length ?? 0) + 64;

    /// <summary>Binary search: the index of the key, or the bitwise complement of its insertion point.</summary>
    public int Search(ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var cmp = Key(mid).SequenceCompareTo(key);
            if (cmp == 0) return mid;
            if (cmp < 0) lo = mid + 1;
            else hi = mid - 1;
        }

        return ~lo;
    }
}

/// <summary>
/// The decoded blocks of every run, least recently used first out, within a byte budget
/// (<c>Engine:IndexCacheBytes</c>). Blocks are read with positioned reads (never mapped), so the process's memory
/// is this budget plus the memtables and the runs' block indexes and bloom filters, however large the tables grow.
/// </summary>
public sealed class BlockCache(long budgetBytes)
{
    private readonly object _lock = new();
    private readonly Dictionary<(long Run, int Block), LinkedListNode<Entry>> _map = [];
    private readonly LinkedList<Entry> _lru = new();
    private long _bytes;
    private long _hits;
    private long _misses;

    private sealed record Entry((long Run, int Block) Id, RunBlock Block);

    public long BudgetBytes { get; } = Math.Max(1 << 20, budgetBytes);

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    internal RunBlock Get(long run, int block, Func<int, RunBlock> load)
    {
        lock (_lock)
        {
            if (_map.TryGetValue((run, block), out var node))
            {
                _lru.Remove(node);
                _lru.AddLast(node);
                _hits++;
                return node.Value.Block;
            }
        }

        // Read and decrypt outside the lock; two readers of the same cold block may both load it (harmless).
        var loaded = load(block);
        lock (_lock)
        {
            _misses++;
            if (_map.ContainsKey((run, block))) return loaded;
            var node = _lru.AddLast(new Entry((run, block), loaded));
            _map[(run, block)] = node;
            _bytes += loaded.Bytes;
            while (_bytes > BudgetBytes && _lru.First is { } oldest && oldest != node)
            {
                _lru.RemoveFirst();
                _map.Remove(oldest.Value.Id);
                _bytes -= oldest.Value.Block.Bytes;
            }
        }

        return loaded;
    }

    /// <summary>Drops a deleted run's blocks.</summary>
    internal void Forget(long run, int blocks)
    {
        lock (_lock)
        {
            for (var b = 0; b < blocks; b++)
            {
                if (!_map.Remove((run, b), out var node)) continue;
                _lru.Remove(node);
                _bytes -= node.Value.Block.Bytes;
            }
        }
    }
}
