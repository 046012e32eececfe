using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Serverless.Engine.Model;

/// <summary>
/// PutItem's fast path: a request item of plain top-level attributes encoded straight from the request JSON to
/// the stored encoding, with no dictionary, value object or string per attribute. "Plain" is what the general
/// reader (<see cref="AttrJson.TryReadItem"/>) accepts unchanged: distinct names without escapes, each value exactly
/// one of <c>S</c> (no escapes), <c>N</c> (an integer already in canonical form, at most 38 digits), <c>BOOL</c> or
/// <c>NULL: true</c>. Anything else returns false and takes the general path, which gives the same bytes or the error.
/// </summary>
public static partial class ItemCodec
{
    private const int MaxPlainAttributes = 32;

    /// <summary>Measures a plain item: its item size and encoded length; false when it is not plain.</summary>
    public static bool TryMeasurePlain(JsonElement item, out int itemSize, out int encodedLength)
    {
        itemSize = 0;
        encodedLength = 0;
        if (item.ValueKind != JsonValueKind.Object) return false;
        var count = 0;
        var length = 0;
        var size = 0;
        foreach (var p in item.EnumerateObject())
        {
            if (++count > MaxPlainAttributes) return false;
            var name = RawString(p);
            if (name.IsEmpty || name.IndexOf((byte)'\\') >= 0) return false;
            if (name.Length > AttrJson.MaxAttributeNameBytes) return false; // the general reader reports it

            // Duplicate names: the general reader keeps the last value; leave that to it.
            var seen = 0;
            foreach (var q in item.EnumerateObject())
            {
                if (++seen >= count) break;
                if (RawString(q).SequenceEqual(name)) return false;
            }

            if (!TryPlainValue(p.Value, out var type, out var payload)) return false;
            length += VarintLength((uint)name.Length) + name.Length + 1;
            size += name.Length;
            switch (type)
            {
                case AttrType.S:
                    length += VarintLength((uint)payload.Length) + payload.Length;
                    size += payload.Length;
                    break;
                case AttrType.N:
                    length += VarintLength((uint)payload.Length) + payload.Length;
                    size += ItemSize.OfNumber(payload);
                    break;
                case AttrType.Bool:
                    length += 1;
                    size += 1;
                    break;
                default:
                    size += 1;
                    break;
            }
        }

        itemSize = size;
        encodedLength = 1 + VarintLength((uint)count) + length;
        return true;
    }

    /// <summary>Writes a plain item that <see cref="TryMeasurePlain"/> accepted, in exactly <paramref name="encodedLength"/> bytes.</summary>
    public static int WritePlain(JsonElement item, int encodedLength, Span<byte> destination)
    {
        var count = 0;
        foreach (var _ in item.EnumerateObject()) count++;
        destination[0] = Version;
        var pos = 1 + WriteVarint(destination[1..], (uint)count);
        foreach (var p in item.EnumerateObject())
        {
            var name = RawString(p);
            pos += WriteVarint(destination[pos..], (uint)name.Length);
            name.CopyTo(destination[pos..]);
            pos += name.Length;
            TryPlainValue(p.Value, out var type, out var payload);
            destination[pos++] = (byte)type;
            switch (type)
            {
                case AttrType.S:
                case AttrType.N:
                    pos += WriteVarint(destination[pos..], (uint)payload.Length);
                    payload.CopyTo(destination[pos..]);
                    pos += payload.Length;
                    break;
                case AttrType.Bool:
                    destination[pos++] = payload[0] == (byte)'t' ? (byte)1 : (byte)0;
                    break;
            }
        }

        if (pos != encodedLength) throw new InvalidOperationException("Item encoding length mismatch.");
        return pos;
    }

    /// <summary>The raw UTF-8 of a property name (between its quotes).</summary>
    private static ReadOnlySpan<byte> RawString(JsonProperty p)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(p);
        return raw.Length >= 2 && raw[0] == (byte)'"' ? raw[1..^1] : raw;
    }

    private static bool TryPlainValue(JsonElement value, out AttrType type, out ReadOnlySpan<byte> payload)
    {
        type = default;
        payload = default;
        if (value.ValueKind != JsonValueKind.Object) return false;
        var found = false;
        foreach (var m in value.EnumerateObject())
        {
            if (found) return false;
            found = true;
            var v = m.Value;
            if (m.NameEquals("S"u8) && v.ValueKind == JsonValueKind.String)
            {
                var raw = JsonMarshal.GetRawUtf8Value(v);
                payload = raw.Length >= 2 && raw[0] == (byte)'"' ? raw[1..^1] : raw;
                if (payload.IndexOf((byte)'\\') >= 0) return false;
                type = AttrType.S;
            }
            else if (m.NameEquals("N"u8) && v.ValueKind == JsonValueKind.String)
            {
                var raw = JsonMarshal.GetRawUtf8Value(v);
                payload = raw.Length >= 2 && raw[0] == (byte)'"' ? raw[1..^1] : raw;
                if (!IsCanonicalInteger(payload)) return false;
                type = AttrType.N;
            }
            else if (m.NameEquals("BOOL"u8) && v.ValueKind is JsonValueKind.True or JsonValueKind.False)
            {
                payload = v.ValueKind == JsonValueKind.True ? "t"u8 : "f"u8;
                type = AttrType.Bool;
            }
            else if (m.NameEquals("NULL"u8) && v.ValueKind == JsonValueKind.True)
            {
                type = AttrType.Null;
            }
            else return false;
        }

        return found;
    }

    /// <summary><c>0</c> or <c>-?[1-9][0-9]*</c> with at most 38 digits: the canonical text of such a number is itself.</summary>
    private static bool IsCanonicalInteger(ReadOnlySpan<byte> text)
    {
        if (text.Length == 1 && text[0] == (byte)'0') return true;
        var digits = text.Length > 0 && text[0] == (byte)'-' ? text[1..] : text;
        if (digits.IsEmpty || digits.Length > 38 || digits[0] is < (byte)'1' or > (byte)'9') return false;
        foreach (var c in digits)
            if (c is < (byte)'0' or > (byte)'9') return false;
        return true;
    }
}
