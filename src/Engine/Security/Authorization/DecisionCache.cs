using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Serverless.Engine.Security.Authorization;

/// <summary>
/// Authorization decisions by (caller, action, resource), for policies whose conditions never read the request
/// (<see cref="PolicyDocument.ReadsRequest"/>): then the decision is a function of those three and of the two
/// policies. Each entry remembers the policy objects it was decided under and is ignored once either has changed
/// (a new identity document, or a resource policy put or deleted: the catalog holds a new document string then), so
/// a policy change takes effect on the next request without a hook from the operations that change it. Bounded:
/// when full, the cache starts over.
/// </summary>
internal sealed class DecisionCache
{
    /// <summary>Enough for every (key, action, table) a deployment uses in practice; the cap only guards against churn.</summary>
    public const int DefaultCapacity = 4096;

    private readonly int _capacity;
    private readonly ConcurrentDictionary<Key, Entry> _entries = new(KeyComparer.Instance);
    private int _count;

    public DecisionCache(int capacity = DefaultCapacity)
    {
        _capacity = capacity;
    }

    /// <summary>How many decisions are held (tests).</summary>
    public int Count => _entries.Count;

    /// <summary>The decision cached for these arguments under the same two policies, if there is one.</summary>
    public bool TryGet(Caller caller, string action, string resource, PolicyDocument? identity, string? resourcePolicy, out Decided decided)
    {
        if (_entries.TryGetValue(new Key(caller, action, resource), out var entry)
            && ReferenceEquals(entry.Identity, identity) && ReferenceEquals(entry.ResourcePolicy, resourcePolicy))
        {
            decided = entry.Decided;
            return true;
        }

        decided = default;
        return false;
    }

    public void Add(Caller caller, string action, string resource, PolicyDocument? identity, string? resourcePolicy, Decided decided)
    {
        if (Interlocked.Increment(ref _count) > _capacity)
        {
            _entries.Clear();
            Volatile.Write(ref _count, 1);
        }

        _entries[new Key(caller, action, resource)] = new Entry(identity, resourcePolicy, decided);
    }

    /// <summary>A decision and whether the resource policy made it (the denial message says which policy denied).</summary>
    public readonly record struct Decided(Decision Decision, bool ByResourcePolicy);

    private readonly record struct Key(Caller Caller, string Action, string Resource);

    private sealed record Entry(PolicyDocument? Identity, string? ResourcePolicy, Decided Decided);

    /// <summary>The caller by reference (one instance per configured key); action and resource by value.</summary>
    private sealed class KeyComparer : IEqualityComparer<Key>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(Key x, Key y) =>
            ReferenceEquals(x.Caller, y.Caller) && string.Equals(x.Action, y.Action, StringComparison.Ordinal)
            && string.Equals(x.Resource, y.Resource, StringComparison.Ordinal);

        public int GetHashCode(Key key) =>
            HashCode.Combine(RuntimeHelpers.GetHashCode(key.Caller), key.Action.GetHashCode(StringComparison.Ordinal), key.Resource.GetHashCode(StringComparison.Ordinal));
    }
}
