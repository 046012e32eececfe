using Serverless.Engine.Model;

namespace Serverless.Engine.Storage;

/*
 * Index keys of several attributes (a global index's KeySchema of up to 4 HASH and 4 RANGE elements).
 * FROZEN with the entry layout of SecondaryIndex: entries live in memory only, but paging tokens and the
 * partition hash depend on it.
 *
 * Entry key: [indexNumber:u32][partitionHash:u32][component(partition)][component(sort 1)]..[component(sort n)][storage key]
 *   partition := the one partition attribute's value, or, for 2 to 4 of them, the B value holding the
 *                concatenation of their terminated components in KeySchema order (so they hash together and a
 *                Query must fix them all).
 *   sort      := each sort attribute's terminated component in KeySchema order: byte order is DynamoDB's order
 *                (first attribute, then the next), and a Query over the first k attributes is a prefix.
 * With one partition and at most one sort attribute this is exactly the classic layout.
 */

/// <summary>Encodes and decodes the partition part of multi-attribute index keys (see the format comment above).</summary>
public static class MultiAttributeKey
{
    /// <summary>The value the partition component encodes: the value itself for one attribute, the composite otherwise.</summary>
    public static AttrValue Partition(AttrValue[] values)
    {
        if (values.Length == 1) return values[0];
        var length = 0;
        foreach (var v in values) length += KeyCodec.ComponentLength(v);
        var bytes = new byte[length];
        var pos = 0;
        foreach (var v in values) pos += KeyCodec.EncodeComponent(v, bytes.AsSpan(pos));
        return AttrValue.FromB(bytes);
    }

    /// <summary>Splits a decoded partition component back into its <paramref name="count"/> attribute values.</summary>
    public static AttrValue[] Split(AttrValue partition, int count)
    {
        if (count == 1) return [partition];
        var result = new AttrValue[count];
        var bytes = partition.B;
        var pos = 0;
        for (var i = 0; i < count; i++) result[i] = KeyCodec.DecodeComponent(bytes, ref pos);
        return result;
    }
}
