namespace Serverless.Engine.Storage;

/// <summary>
/// Striped locks over storage keys. A write holds its key's stripe while it reads the current item, checks its
/// condition, writes the store and appends the change record, which makes check-and-set atomic and keeps the
/// change log in per-item order. Multi-item writers (transactions) take stripes in ascending index order, so two
/// writers can never wait on each other in a cycle.
/// </summary>
public sealed class KeyLocks
{
    private readonly object[] _stripes;
    private readonly int _mask;

    /// <summary>The number of stripes unless told otherwise.</summary>
    public const int DefaultStripes = 4096;

    public KeyLocks(int stripes = DefaultStripes)
    {
        if (stripes <= 0 || (stripes & (stripes - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(stripes), "Must be a power of two.");
        _stripes = new object[stripes];
        for (var i = 0; i < stripes; i++) _stripes[i] = new object();
        _mask = stripes - 1;
    }

    public int StripeOf(ReadOnlySpan<byte> key)
    {
        // FNV-1a; any stable spread works since stripes only serialise, never order, single-key writes.
        var h = 2166136261u;
        foreach (var b in key) h = (h ^ b) * 16777619u;
        return (int)(h & (uint)_mask);
    }

    public int Count => _stripes.Length;

    public object this[int stripe] => _stripes[stripe];
}
