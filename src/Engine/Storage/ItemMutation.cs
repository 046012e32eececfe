using System.Buffers;

namespace Serverless.Engine.Storage;

/// <summary>What a mutation decided to do with the item it was shown.</summary>
public enum MutationKind
{
    /// <summary>Leave the item as it is (e.g. deleting an absent item).</summary>
    None,

    /// <summary>Store the new image the mutation wrote.</summary>
    Put,

    /// <summary>Remove the item.</summary>
    Delete,

    /// <summary>The mutation's condition failed: change nothing.</summary>
    ConditionFailed,
}

/// <summary>
/// Decides, under the item's lock, what happens to one item. <paramref name="current"/> is the stored value
/// (<see cref="StoredValue"/> layout) when <paramref name="exists"/>; a Put writes the new stored value to
/// <paramref name="newValue"/>. Implementations must not block or await.
/// </summary>
public interface IItemMutation
{
    MutationKind Apply(ReadOnlySpan<byte> current, bool exists, IBufferWriter<byte> newValue);
}

/// <summary>Result of <see cref="Database.Write"/>: what happened, and the commit to await before acknowledging.</summary>
/// <remarks>
/// <see cref="ItemCollectionBytes"/>: for tables with local secondary indexes, the size of the item's collection after
/// the write; -1 otherwise.
/// </remarks>
public readonly record struct WriteResult(MutationKind Kind, Task Committed, long ItemCollectionBytes = -1);
