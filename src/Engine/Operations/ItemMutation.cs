using System.Buffers;
using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// The read-check-write step every single-item write shares, run under the item's lock: decode the current
/// item when something needs it, evaluate the condition on it, then let the operation produce the new state.
/// </summary>
internal abstract class ConditionalMutation(ConditionExpression? condition, ExpressionAttributes attributes, bool keepOld, bool keepOldOnFailure)
    : IItemMutation
{
    /// <summary>The stored value before the write, when the caller asked for it (or the condition failed and ALL_OLD was asked).</summary>
    public byte[]? OldStored { get; private set; }

    /// <summary>DynamoDB size of the item before the write; 0 when there was none.</summary>
    public int OldSize { get; private set; }

    /// <summary>DynamoDB size of the item after the write; 0 when it was deleted.</summary>
    public int NewSize { get; protected set; }

    protected ExpressionAttributes Attributes { get; } = attributes;

    protected virtual bool NeedsCurrentItem => condition != null;

    public MutationKind Apply(ReadOnlySpan<byte> current, bool exists, IBufferWriter<byte> newValue)
    {
        OldSize = exists ? StoredValue.ItemSize(current) : 0;
        var old = exists && NeedsCurrentItem ? ItemCodec.Decode(StoredValue.Item(current)) : null;
        if (condition != null && !condition.Evaluate(old, Attributes))
        {
            if (exists && keepOldOnFailure) OldStored = current.ToArray();
            return MutationKind.ConditionFailed;
        }

        if (exists && keepOld) OldStored = current.ToArray();
        if (!NeedsCurrentItem && TryMutateEncoded(exists ? StoredValue.Item(current) : default, newValue, out var kind)) return kind;
        return Mutate(old, exists, newValue);
    }

    /// <summary>
    /// The operation's change made on the encoded current item (empty when there is none), when it can be made
    /// without decoding; false to take <see cref="Mutate"/>. Only asked when <see cref="NeedsCurrentItem"/> is false.
    /// </summary>
    protected virtual bool TryMutateEncoded(ReadOnlySpan<byte> currentItem, IBufferWriter<byte> newValue, out MutationKind kind)
    {
        kind = default;
        return false;
    }

    /// <summary>The operation's change, given the decoded current item when <see cref="NeedsCurrentItem"/>.</summary>
    protected abstract MutationKind Mutate(Dictionary<string, AttrValue>? current, bool exists, IBufferWriter<byte> newValue);

    /// <summary>Writes <c>size | item</c>, the stored-value layout.</summary>
    protected static void WriteStored(IBufferWriter<byte> output, IReadOnlyDictionary<string, AttrValue> item, int size)
    {
        StoredValue.WriteHeader(output, size);
        ItemCodec.Encode(item, output);
    }

    /// <summary>Throws the failed-condition error, carrying the old item when the request asked for it.</summary>
    public DynamoException ConditionFailed()
    {
        var old = OldStored;
        return old == null
            ? DynamoErrors.ConditionalCheckFailed()
            : DynamoErrors.ConditionalCheckFailed(w =>
            {
                w.WritePropertyName("Item"u8);
                ItemCodec.WriteJson(StoredValue.Item(old), w);
            });
    }
}
