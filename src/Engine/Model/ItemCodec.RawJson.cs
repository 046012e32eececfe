using System.Buffers;
using System.Text.Json;

namespace Serverless.Engine.Model;

public static partial class ItemCodec
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <summary>
    /// Writes the DynamoDB JSON object of an encoded item as raw UTF-8 straight into <paramref name="output"/>:
    /// the fastest path (no Utf8JsonWriter, no allocation). Strings are escaped as JSON requires (quote, backslash,
    /// control characters); other characters are written as UTF-8. Returns the number of bytes written.
    /// </summary>
    public static int WriteJson(ReadOnlySpan<byte> encoded, IBufferWriter<byte> output)
    {
        var pos = ReadHeader(encoded, out var count);
        var o = new RawJsonOutput(output);
        o.Byte((byte)'{');
        for (var i = 0; i < count; i++)
        {
            if (i > 0) o.Byte((byte)',');
            o.String(ReadSpan(encoded, ref pos));
            o.Byte((byte)':');
            RawValue(encoded, ref pos, ref o);
        }

        o.Byte((byte)'}');
        return o.Complete();
    }

    /// <summary>
    /// Writes the DynamoDB JSON object of an encoded item (<c>{"a":{"S":"x"},...}</c>) as the next value of
    /// <paramref name="writer"/> (after a property name, in an array, or at the root), straight from the encoded
    /// bytes without building values. Allocation-free after warm-up (uses a per-thread scratch buffer).
    /// </summary>
    public static void WriteJson(ReadOnlySpan<byte> encoded, Utf8JsonWriter writer)
    {
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(1024);
        scratch.ResetWrittenCount();
        WriteJson(encoded, scratch);
        writer.WriteRawValue(scratch.WrittenSpan, skipInputValidation: true);
        if (scratch.Capacity > 1 << 20) t_scratch = null; // don't pin a huge buffer to the thread
    }

    private static void RawValue(ReadOnlySpan<byte> data, ref int pos, ref RawJsonOutput o)
    {
        var type = (AttrType)ReadByte(data, ref pos);
        switch (type)
        {
            case AttrType.S:
                o.Literal("{\"S\":"u8);
                o.String(ReadSpan(data, ref pos));
                break;
            case AttrType.N:
                o.Literal("{\"N\":"u8);
                o.String(ReadSpan(data, ref pos));
                break;
            case AttrType.B:
                o.Literal("{\"B\":"u8);
                o.Base64(ReadSpan(data, ref pos));
                break;
            case AttrType.Bool:
                o.Literal(ReadByte(data, ref pos) != 0 ? "{\"BOOL\":true"u8 : "{\"BOOL\":false"u8);
                break;
            case AttrType.Null:
                o.Literal("{\"NULL\":true"u8);
                break;
            case AttrType.L:
                {
                    var end = ReadContainerEnd(data, ref pos);
                    var count = (int)ReadVarint(data, ref pos);
                    o.Literal("{\"L\":["u8);
                    for (var i = 0; i < count; i++)
                    {
                        if (i > 0) o.Byte((byte)',');
                        RawValue(data, ref pos, ref o);
                    }

                    o.Byte((byte)']');
                    if (pos != end) throw Corrupt();
                    break;
                }

            case AttrType.M:
                {
                    var end = ReadContainerEnd(data, ref pos);
                    var count = (int)ReadVarint(data, ref pos);
                    o.Literal("{\"M\":{"u8);
                    for (var i = 0; i < count; i++)
                    {
                        if (i > 0) o.Byte((byte)',');
                        o.String(ReadSpan(data, ref pos));
                        o.Byte((byte)':');
                        RawValue(data, ref pos, ref o);
                    }

                    o.Byte((byte)'}');
                    if (pos != end) throw Corrupt();
                    break;
                }

            case AttrType.SS:
            case AttrType.NS:
                {
                    var count = (int)ReadVarint(data, ref pos);
                    o.Literal(type == AttrType.SS ? "{\"SS\":["u8 : "{\"NS\":["u8);
                    for (var i = 0; i < count; i++)
                    {
                        if (i > 0) o.Byte((byte)',');
                        o.String(ReadSpan(data, ref pos));
                    }

                    o.Byte((byte)']');
                    break;
                }

            case AttrType.BS:
                {
                    var count = (int)ReadVarint(data, ref pos);
                    o.Literal("{\"BS\":["u8);
                    for (var i = 0; i < count; i++)
                    {
                        if (i > 0) o.Byte((byte)',');
                        o.Base64(ReadSpan(data, ref pos));
                    }

                    o.Byte((byte)']');
                    break;
                }

            default:
                throw Corrupt();
        }

        o.Byte((byte)'}');
    }

    /// <summary>Appends raw bytes to an <see cref="IBufferWriter{T}"/>, asking for space in chunks.</summary>
    private ref struct RawJsonOutput
    {
        private const int Chunk = 4096;
        private readonly IBufferWriter<byte> _output;
        private Span<byte> _span;
        private int _pos;
        private int _total;

        public RawJsonOutput(IBufferWriter<byte> output)
        {
            _output = output;
            _span = output.GetSpan(Chunk);
            _pos = 0;
            _total = 0;
        }

        public int Complete()
        {
            _output.Advance(_pos);
            return _total + _pos;
        }

        private void Ensure(int n)
        {
            if (_span.Length - _pos >= n) return;
            _output.Advance(_pos);
            _total += _pos;
            _pos = 0;
            _span = _output.GetSpan(Math.Max(n, Chunk));
        }

        public void Byte(byte b)
        {
            if (_pos >= _span.Length) Ensure(1);
            _span[_pos++] = b;
        }

        public void Literal(scoped ReadOnlySpan<byte> text)
        {
            Ensure(text.Length);
            text.CopyTo(_span[_pos..]);
            _pos += text.Length;
        }

        /// <summary>A quoted JSON string from valid UTF-8.</summary>
        public void String(scoped ReadOnlySpan<byte> utf8)
        {
            Ensure(utf8.Length + 2);
            _span[_pos++] = (byte)'"';
            while (true)
            {
                var i = IndexOfEscape(utf8);
                var run = i < 0 ? utf8 : utf8[..i];
                Ensure(run.Length + 7);
                run.CopyTo(_span[_pos..]);
                _pos += run.Length;
                if (i < 0) break;
                var c = utf8[i];
                _span[_pos++] = (byte)'\\';
                switch (c)
                {
                    case (byte)'"': _span[_pos++] = (byte)'"'; break;
                    case (byte)'\\': _span[_pos++] = (byte)'\\'; break;
                    case (byte)'\n': _span[_pos++] = (byte)'n'; break;
                    case (byte)'\r': _span[_pos++] = (byte)'r'; break;
                    case (byte)'\t': _span[_pos++] = (byte)'t'; break;
                    case (byte)'\b': _span[_pos++] = (byte)'b'; break;
                    case (byte)'\f': _span[_pos++] = (byte)'f'; break;
                    default:
                        _span[_pos++] = (byte)'u';
                        _span[_pos++] = (byte)'0';
                        _span[_pos++] = (byte)'0';
                        _span[_pos++] = Hex(c >> 4);
                        _span[_pos++] = Hex(c & 0xF);
                        break;
                }

                utf8 = utf8[(i + 1)..];
            }

            Byte((byte)'"');
        }

        public void Base64(scoped ReadOnlySpan<byte> bytes)
        {
            var length = System.Buffers.Text.Base64.GetMaxEncodedToUtf8Length(bytes.Length);
            Ensure(length + 2);
            _span[_pos++] = (byte)'"';
            System.Buffers.Text.Base64.EncodeToUtf8(bytes, _span[_pos..], out _, out var written);
            _pos += written;
            _span[_pos++] = (byte)'"';
        }

        private static byte Hex(int v) => (byte)(v < 10 ? '0' + v : 'a' + v - 10);

        private static readonly SearchValues<byte> NeedsEscape = SearchValues.Create(
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, (byte)'"', (byte)'\\']);

        private static int IndexOfEscape(ReadOnlySpan<byte> utf8) => utf8.IndexOfAny(NeedsEscape);
    }
}
