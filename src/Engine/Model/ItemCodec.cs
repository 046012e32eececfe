using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Serverless.Engine.Model;

/*
 * Persisted item encoding (the value stored in FASTER). FROZEN: any change needs a new version byte and a
 * decoder for every older version.
 *
 *   item    := version:u8 (= 0x01)  count:varint  attr{count}
 *   attr    := name:str  value
 *   str     := len:varint  bytes{len}                      (UTF-8 for names and S; ASCII for N)
 *   value   := type:u8 payload                              (type = AttrType: S=1 N=2 B=3 BOOL=4 NULL=5
 *                                                            L=6 M=7 SS=8 NS=9 BS=10)
 *     S     := str                                          UTF-8 bytes
 *     N     := str                                          canonical text (DynamoNumber.ToString), ASCII
 *     B     := len:varint bytes{len}
 *     BOOL  := u8 (0 = false, 1 = true)
 *     NULL  := (nothing)
 *     L     := size:u32le count:varint value{count}         size = bytes after the size field
 *     M     := size:u32le count:varint (name:str value){count}
 *     SS    := count:varint str{count}
 *     NS    := count:varint str{count}                      canonical text, ASCII
 *     BS    := count:varint (len:varint bytes{len}){count}
 *   varint  := unsigned LEB128 (7 bits per byte, least significant group first, high bit = more), at most 5 bytes
 *
 * Attribute and map-entry order is the dictionary's enumeration order; set order is the order held by the value.
 * L and M carry their byte size so a reader can skip them without walking their contents.
 */

/// <summary>Compact binary encoding of items for storage; see the format comment at the top of this file.</summary>
public static partial class ItemCodec
{
    public const byte Version = 1;

    /// <summary>Exact encoded length of <paramref name="item"/>.</summary>
    public static int EncodedLength(IReadOnlyDictionary<string, AttrValue> item)
    {
        var size = 1 + VarintLength((uint)item.Count);
        foreach (var (name, value) in item) size += StrLength(name) + ValueLength(value);
        return size;
    }

    public static byte[] Encode(IReadOnlyDictionary<string, AttrValue> item)
    {
        var result = new byte[EncodedLength(item)];
        var n = Write(item, result);
        return n == result.Length ? result : throw new InvalidOperationException("Item encoding length mismatch.");
    }

    public static void Encode(IReadOnlyDictionary<string, AttrValue> item, IBufferWriter<byte> output)
    {
        var length = EncodedLength(item);
        var span = output.GetSpan(length);
        var n = Write(item, span);
        if (n != length) throw new InvalidOperationException("Item encoding length mismatch.");
        output.Advance(length);
    }

    /// <summary>Encodes into <paramref name="destination"/> (at least <see cref="EncodedLength"/> bytes); returns bytes written.</summary>
    public static int Write(IReadOnlyDictionary<string, AttrValue> item, Span<byte> destination)
    {
        destination[0] = Version;
        var pos = 1;
        pos += WriteVarint(destination[pos..], (uint)item.Count);
        foreach (var (name, value) in item)
        {
            pos += WriteStr(destination[pos..], name);
            pos += WriteValue(destination[pos..], value);
        }

        return pos;
    }

    public static Dictionary<string, AttrValue> Decode(ReadOnlySpan<byte> encoded)
    {
        var pos = ReadHeader(encoded, out var count);
        var item = new Dictionary<string, AttrValue>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var name = ReadUtf8(encoded, ref pos);
            item[name] = ReadValue(encoded, ref pos);
        }

        if (pos != encoded.Length) throw Corrupt();
        return item;
    }

    /// <summary>Item size (<see cref="ItemSize"/> rule) computed from the encoded bytes, without decoding.</summary>
    public static int ItemSizeOf(ReadOnlySpan<byte> encoded)
    {
        var pos = ReadHeader(encoded, out var count);
        var size = 0;
        for (var i = 0; i < count; i++)
        {
            size += ReadSpan(encoded, ref pos).Length;
            size += ValueSize(encoded, ref pos);
        }

        return size;
    }

    private static int ReadHeader(ReadOnlySpan<byte> encoded, out int count)
    {
        if (encoded.IsEmpty || encoded[0] != Version) throw new InvalidDataException("Unknown item encoding version.");
        var pos = 1;
        count = (int)ReadVarint(encoded, ref pos);
        return pos;
    }

    // ---- lengths ----

    private static int VarintLength(uint v) => v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;

    private static int StrLength(string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        return VarintLength((uint)n) + n;
    }

    private static int BytesLength(byte[] b) => VarintLength((uint)b.Length) + b.Length;

    private static int ValueLength(AttrValue value)
    {
        switch (value.Type)
        {
            case AttrType.S:
                return 1 + StrLength(value.S);
            case AttrType.N:
                return 1 + VarintLength((uint)value.N.Length) + value.N.Length;
            case AttrType.B:
                return 1 + BytesLength(value.B);
            case AttrType.Bool:
                return 2;
            case AttrType.Null:
                return 1;
            case AttrType.L:
                {
                    var list = value.L;
                    var size = 5 + VarintLength((uint)list.Count);
                    for (var i = 0; i < list.Count; i++) size += ValueLength(list[i]);
                    return size;
                }

            case AttrType.M:
                {
                    var map = value.M;
                    var size = 5 + VarintLength((uint)map.Count);
                    foreach (var (k, v) in map) size += StrLength(k) + ValueLength(v);
                    return size;
                }

            case AttrType.SS:
            case AttrType.NS:
                {
                    var set = value.StringSet;
                    var size = 1 + VarintLength((uint)set.Count);
                    for (var i = 0; i < set.Count; i++) size += StrLength(set[i]);
                    return size;
                }

            case AttrType.BS:
                {
                    var set = value.BS;
                    var size = 1 + VarintLength((uint)set.Count);
                    for (var i = 0; i < set.Count; i++) size += BytesLength(set[i]);
                    return size;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(value));
        }
    }

    // ---- writing ----

    private static int WriteVarint(Span<byte> dest, uint v)
    {
        var i = 0;
        while (v >= 0x80)
        {
            dest[i++] = (byte)(v | 0x80);
            v >>= 7;
        }

        dest[i++] = (byte)v;
        return i;
    }

    private static int WriteStr(Span<byte> dest, string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        var h = WriteVarint(dest, (uint)n);
        Encoding.UTF8.GetBytes(s, dest.Slice(h, n));
        return h + n;
    }

    private static int WriteBytes(Span<byte> dest, byte[] b)
    {
        var h = WriteVarint(dest, (uint)b.Length);
        b.CopyTo(dest[h..]);
        return h + b.Length;
    }

    private static int WriteValue(Span<byte> dest, AttrValue value)
    {
        dest[0] = (byte)value.Type;
        var pos = 1;
        switch (value.Type)
        {
            case AttrType.S:
                pos += WriteStr(dest[pos..], value.S);
                break;
            case AttrType.N:
                pos += WriteStr(dest[pos..], value.N);
                break;
            case AttrType.B:
                pos += WriteBytes(dest[pos..], value.B);
                break;
            case AttrType.Bool:
                dest[pos++] = value.Bool ? (byte)1 : (byte)0;
                break;
            case AttrType.Null:
                break;
            case AttrType.L:
                {
                    var list = value.L;
                    var sizeAt = pos;
                    pos += 4;
                    pos += WriteVarint(dest[pos..], (uint)list.Count);
                    for (var i = 0; i < list.Count; i++) pos += WriteValue(dest[pos..], list[i]);
                    BinaryPrimitives.WriteUInt32LittleEndian(dest[sizeAt..], (uint)(pos - sizeAt - 4));
                    break;
                }

            case AttrType.M:
                {
                    var map = value.M;
                    var sizeAt = pos;
                    pos += 4;
                    pos += WriteVarint(dest[pos..], (uint)map.Count);
                    foreach (var (k, v) in map)
                    {
                        pos += WriteStr(dest[pos..], k);
                        pos += WriteValue(dest[pos..], v);
                    }

                    BinaryPrimitives.WriteUInt32LittleEndian(dest[sizeAt..], (uint)(pos - sizeAt - 4));
                    break;
                }

            case AttrType.SS:
            case AttrType.NS:
                {
                    var set = value.StringSet;
                    pos += WriteVarint(dest[pos..], (uint)set.Count);
                    for (var i = 0; i < set.Count; i++) pos += WriteStr(dest[pos..], set[i]);
                    break;
                }

            case AttrType.BS:
                {
                    var set = value.BS;
                    pos += WriteVarint(dest[pos..], (uint)set.Count);
                    for (var i = 0; i < set.Count; i++) pos += WriteBytes(dest[pos..], set[i]);
                    break;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(value));
        }

        return pos;
    }

    // ---- reading ----

    private static InvalidDataException Corrupt() => new("Corrupt item encoding.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        if ((uint)pos >= (uint)data.Length) throw Corrupt();
        uint b = data[pos++];
        if (b < 0x80) return b;
        return ReadVarintSlow(data, ref pos, b);
    }

    private static uint ReadVarintSlow(ReadOnlySpan<byte> data, ref int pos, uint first)
    {
        var result = first & 0x7F;
        for (var shift = 7; shift <= 28; shift += 7)
        {
            if ((uint)pos >= (uint)data.Length) throw Corrupt();
            uint b = data[pos++];
            result |= (b & 0x7F) << shift;
            if (b < 0x80) return result;
        }

        throw Corrupt();
    }

    private static ReadOnlySpan<byte> ReadSpan(ReadOnlySpan<byte> data, scoped ref int pos)
    {
        var n = (int)ReadVarint(data, ref pos);
        if ((uint)n > (uint)(data.Length - pos)) throw Corrupt();
        var span = data.Slice(pos, n);
        pos += n;
        return span;
    }

    private static string ReadUtf8(ReadOnlySpan<byte> data, ref int pos) => Encoding.UTF8.GetString(ReadSpan(data, ref pos));

    private static string ReadAscii(ReadOnlySpan<byte> data, ref int pos) => Encoding.ASCII.GetString(ReadSpan(data, ref pos));

    private static byte ReadByte(ReadOnlySpan<byte> data, ref int pos)
    {
        if ((uint)pos >= (uint)data.Length) throw Corrupt();
        return data[pos++];
    }

    private static int ReadContainerEnd(ReadOnlySpan<byte> data, ref int pos)
    {
        if (data.Length - pos < 4) throw Corrupt();
        var size = BinaryPrimitives.ReadUInt32LittleEndian(data[pos..]);
        pos += 4;
        if (size > (uint)(data.Length - pos)) throw Corrupt();
        return pos + (int)size;
    }

    private static AttrValue ReadValue(ReadOnlySpan<byte> data, ref int pos)
    {
        var type = (AttrType)ReadByte(data, ref pos);
        switch (type)
        {
            case AttrType.S:
                return AttrValue.FromS(ReadUtf8(data, ref pos));
            case AttrType.N:
                return AttrValue.FromCanonicalN(ReadAscii(data, ref pos));
            case AttrType.B:
                return AttrValue.FromB(ReadSpan(data, ref pos).ToArray());
            case AttrType.Bool:
                return AttrValue.FromBool(ReadByte(data, ref pos) != 0);
            case AttrType.Null:
                return AttrValue.Null;
            case AttrType.L:
                {
                    var end = ReadContainerEnd(data, ref pos);
                    var count = (int)ReadVarint(data, ref pos);
                    var list = new List<AttrValue>(count);
                    for (var i = 0; i < count; i++) list.Add(ReadValue(data, ref pos));
                    if (pos != end) throw Corrupt();
                    return AttrValue.FromL(list);
                }

            case AttrType.M:
                {
                    var end = ReadContainerEnd(data, ref pos);
                    var count = (int)ReadVarint(data, ref pos);
                    var map = new Dictionary<string, AttrValue>(count, StringComparer.Ordinal);
                    for (var i = 0; i < count; i++)
                    {
                        var name = ReadUtf8(data, ref pos);
                        map[name] = ReadValue(data, ref pos);
                    }

                    if (pos != end) throw Corrupt();
                    return AttrValue.FromM(map);
                }

            case AttrType.SS:
                {
                    var count = (int)ReadVarint(data, ref pos);
                    var set = new List<string>(count);
                    for (var i = 0; i < count; i++) set.Add(ReadUtf8(data, ref pos));
                    return AttrValue.FromSS(set);
                }

            case AttrType.NS:
                {
                    var count = (int)ReadVarint(data, ref pos);
                    var set = new List<string>(count);
                    for (var i = 0; i < count; i++) set.Add(ReadAscii(data, ref pos));
                    return AttrValue.FromNS(set);
                }

            case AttrType.BS:
                {
                    var count = (int)ReadVarint(data, ref pos);
                    var set = new List<byte[]>(count);
                    for (var i = 0; i < count; i++) set.Add(ReadSpan(data, ref pos).ToArray());
                    return AttrValue.FromBS(set);
                }

            default:
                throw Corrupt();
        }
    }

    private static int ValueSize(ReadOnlySpan<byte> data, ref int pos)
    {
        var type = (AttrType)ReadByte(data, ref pos);
        switch (type)
        {
            case AttrType.S:
            case AttrType.B:
                return ReadSpan(data, ref pos).Length;
            case AttrType.N:
                return ItemSize.OfNumber(ReadSpan(data, ref pos));
            case AttrType.Bool:
                pos++;
                return 1;
            case AttrType.Null:
                return 1;
            case AttrType.L:
                {
                    ReadContainerEnd(data, ref pos);
                    var count = (int)ReadVarint(data, ref pos);
                    var size = 3;
                    for (var i = 0; i < count; i++) size += 1 + ValueSize(data, ref pos);
                    return size;
                }

            case AttrType.M:
                {
                    ReadContainerEnd(data, ref pos);
                    var count = (int)ReadVarint(data, ref pos);
                    var size = 3 + count;
                    for (var i = 0; i < count; i++) size += ReadSpan(data, ref pos).Length + ValueSize(data, ref pos);
                    return size;
                }

            case AttrType.SS:
            case AttrType.BS:
                {
                    var count = (int)ReadVarint(data, ref pos);
                    var size = 0;
                    for (var i = 0; i < count; i++) size += ReadSpan(data, ref pos).Length;
                    return size;
                }

            case AttrType.NS:
                {
                    var count = (int)ReadVarint(data, ref pos);
                    var size = 0;
                    for (var i = 0; i < count; i++) size += ItemSize.OfNumber(ReadSpan(data, ref pos));
                    return size;
                }

            default:
                throw Corrupt();
        }
    }
}
