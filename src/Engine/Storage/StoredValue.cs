using System.Buffers.Binary;

namespace Serverless.Engine.Storage;

/// <summary>
/// Layout of a value in the store: <c>varint itemSize | item</c>, where itemSize is the item's size by DynamoDB's
/// rules (so capacity and table size never need a decode) and item is in <c>ItemCodec</c> encoding. Persisted.
/// </summary>
public static class StoredValue
{
    public static int ItemSize(ReadOnlySpan<byte> stored)
    {
        VarInt.Read(stored, out var size);
        return (int)size;
    }

    public static ReadOnlySpan<byte> Item(ReadOnlySpan<byte> stored)
    {
        var n = VarInt.Read(stored, out _);
        return stored[n..];
    }

    public static void WriteHeader(System.Buffers.IBufferWriter<byte> output, int itemSize)
    {
        var span = output.GetSpan(10);
        output.Advance(VarInt.Write(span, (ulong)itemSize));
    }
}

/// <summary>Storage keys start with the table number, big-endian (see <c>KeyCodec</c>).</summary>
public static class StoredKey
{
    public static uint TableNumber(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadUInt32BigEndian(key);
}
