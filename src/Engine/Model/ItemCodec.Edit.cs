using System.Buffers;
using System.Text;

namespace Serverless.Engine.Model;

/// <summary>
/// Edits of an encoded item without decoding it: attributes the edit does not touch are copied as bytes, so an
/// UpdateItem that only SETs top-level attributes costs no dictionary and no string per attribute. The output is
/// byte for byte what decoding, assigning in a dictionary and encoding again would give (same attribute order).
/// </summary>
public static partial class ItemCodec
{
    /// <summary>
    /// Item size (<see cref="ItemSize"/> rule) and encoded length of <paramref name="encoded"/> (empty: no item) with
    /// each of <paramref name="names"/> set to the matching value of <paramref name="values"/>: an attribute that
    /// exists keeps its place, the others follow in the order given. The names must be distinct.
    /// </summary>
    public static (int ItemSize, int EncodedLength) MeasureWithAttributes(ReadOnlySpan<byte> encoded, ReadOnlySpan<string> names, ReadOnlySpan<AttrValue> values)
    {
        var size = 0;
        var length = 1;
        var count = 0;
        var replaced = 0UL;
        if (!encoded.IsEmpty)
        {
            var pos = ReadHeader(encoded, out var existing);
            for (var i = 0; i < existing; i++)
            {
                var nameStart = pos;
                var name = ReadSpan(encoded, ref pos);
                var valueStart = pos;
                var valueSize = ValueSize(encoded, ref pos);
                var match = IndexOfName(names, name);
                if (match >= 0)
                {
                    replaced |= 1UL << match;
                    size += name.Length + ItemSize.OfValue(values[match]);
                    length += (valueStart - nameStart) + ValueLength(values[match]);
                }
                else
                {
                    size += name.Length + valueSize;
                    length += pos - nameStart;
                }

                count++;
            }

            if (pos != encoded.Length) throw Corrupt();
        }

        for (var i = 0; i < names.Length; i++)
        {
            if ((replaced & (1UL << i)) != 0) continue;
            size += Encoding.UTF8.GetByteCount(names[i]) + ItemSize.OfValue(values[i]);
            length += StrLength(names[i]) + ValueLength(values[i]);
            count++;
        }

        return (size, length + VarintLength((uint)count));
    }

    /// <summary>Writes what <see cref="MeasureWithAttributes"/> measured (<paramref name="encodedLength"/> bytes).</summary>
    public static void WriteWithAttributes(ReadOnlySpan<byte> encoded, ReadOnlySpan<string> names, ReadOnlySpan<AttrValue> values, int encodedLength, IBufferWriter<byte> output)
    {
        var dest = output.GetSpan(encodedLength);
        var replaced = 0UL;
        var existing = 0;
        var at = 0;
        if (!encoded.IsEmpty)
        {
            at = ReadHeader(encoded, out existing);

            // First pass: which names exist, for the count in the header.
            var scan = at;
            for (var i = 0; i < existing; i++)
            {
                var name = ReadSpan(encoded, ref scan);
                ValueSize(encoded, ref scan);
                if (IndexOfName(names, name) is var match and >= 0) replaced |= 1UL << match;
            }
        }

        var count = existing;
        for (var i = 0; i < names.Length; i++)
            if ((replaced & (1UL << i)) == 0) count++;
        dest[0] = Version;
        var pos = 1 + WriteVarint(dest[1..], (uint)count);
        for (var i = 0; i < existing; i++)
        {
            var nameStart = at;
            var name = ReadSpan(encoded, ref at);
            var valueStart = at;
            ValueSize(encoded, ref at);
            var match = IndexOfName(names, name);
            if (match >= 0)
            {
                encoded[nameStart..valueStart].CopyTo(dest[pos..]);
                pos += valueStart - nameStart;
                pos += WriteValue(dest[pos..], values[match]);
            }
            else
            {
                encoded[nameStart..at].CopyTo(dest[pos..]);
                pos += at - nameStart;
            }
        }

        for (var i = 0; i < names.Length; i++)
        {
            if ((replaced & (1UL << i)) != 0) continue;
            pos += WriteStr(dest[pos..], names[i]);
            pos += WriteValue(dest[pos..], values[i]);
        }

        if (pos != encodedLength) throw new InvalidOperationException("Item encoding length mismatch.");
        output.Advance(pos);
    }

    private static int IndexOfName(ReadOnlySpan<string> names, ReadOnlySpan<byte> utf8)
    {
        for (var i = 0; i < names.Length; i++)
        {
            var n = names[i];
            if (n.Length == utf8.Length ? Ascii.Equals(utf8, n) : Encoding.UTF8.GetByteCount(n) == utf8.Length && Utf8Equals(utf8, n)) return i;
        }

        return -1;
    }

    private static bool Utf8Equals(ReadOnlySpan<byte> utf8, string s)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (utf8.Length > buffer.Length) return Encoding.UTF8.GetString(utf8) == s;
        Encoding.UTF8.GetBytes(s, buffer);
        return utf8.SequenceEqual(buffer[..utf8.Length]);
    }
}
