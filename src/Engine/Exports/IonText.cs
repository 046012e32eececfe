using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;

namespace Serverless.Engine.Exports;

/// <summary>
/// Amazon Ion text as DynamoDB exports and imports it: S → string, N → decimal (<c>103.</c>, <c>6d2</c>, <c>1.5</c>),
/// B → blob (<c>{{base64}}</c>), BOOL → bool, NULL → null, L → list, M → struct, and sets as lists annotated
/// <c>$dynamodb_SS</c>, <c>$dynamodb_NS</c>, <c>$dynamodb_BS</c>. Each exported line starts with the version marker.
/// </summary>
internal static class IonText
{
    public const string VersionMarker = "$ion_1_0";

    /// <summary>Writes an item's attributes as an Ion struct.</summary>
    public static void WriteStruct(StringBuilder o, IReadOnlyDictionary<string, AttrValue> item)
    {
        o.Append('{');
        var first = true;
        foreach (var (name, value) in item)
        {
            if (!first) o.Append(',');
            first = false;
            WriteSymbol(o, name);
            o.Append(':');
            WriteValue(o, value);
        }

        o.Append('}');
    }

    public static void WriteValue(StringBuilder o, AttrValue v)
    {
        switch (v.Type)
        {
            case AttrType.S: WriteString(o, v.S); break;
            case AttrType.N: WriteDecimal(o, v.N); break;
            case AttrType.B: WriteBlob(o, v.B); break;
            case AttrType.Bool: o.Append(v.Bool ? "true" : "false"); break;
            case AttrType.Null: o.Append("null"); break;
            case AttrType.L:
                o.Append('[');
                for (var i = 0; i < v.L.Count; i++)
                {
                    if (i > 0) o.Append(',');
                    WriteValue(o, v.L[i]);
                }

                o.Append(']');
                break;
            case AttrType.M: WriteStruct(o, v.M); break;
            case AttrType.SS:
                o.Append("$dynamodb_SS::[");
                for (var i = 0; i < v.StringSet.Count; i++)
                {
                    if (i > 0) o.Append(',');
                    WriteString(o, v.StringSet[i]);
                }

                o.Append(']');
                break;
            case AttrType.NS:
                o.Append("$dynamodb_NS::[");
                for (var i = 0; i < v.StringSet.Count; i++)
                {
                    if (i > 0) o.Append(',');
                    WriteDecimal(o, v.StringSet[i]);
                }

                o.Append(']');
                break;
            case AttrType.BS:
                o.Append("$dynamodb_BS::[");
                for (var i = 0; i < v.BS.Count; i++)
                {
                    if (i > 0) o.Append(',');
                    WriteBlob(o, v.BS[i]);
                }

                o.Append(']');
                break;
        }
    }

    /// <summary>A canonical DynamoDB number as an Ion decimal: integers keep no trailing zeros (<c>600</c> → <c>6d2</c>, <c>103</c> → <c>103.</c>).</summary>
    public static void WriteDecimal(StringBuilder o, string canonical)
    {
        if (canonical.Contains('.') || canonical.Contains('E') || canonical.Contains('e'))
        {
            o.Append(canonical.Replace('E', 'd').Replace('e', 'd'));
            return;
        }

        var end = canonical.Length;
        while (end > 1 && canonical[end - 1] == '0' && char.IsAsciiDigit(canonical[end - 2])) end--;
        var zeros = canonical.Length - end;
        if (canonical == "0" || canonical == "-0") o.Append("0.");
        else if (zeros == 0) o.Append(canonical).Append('.');
        else o.Append(canonical, 0, end).Append('d').Append(zeros.ToString(CultureInfo.InvariantCulture));
    }

    private static void WriteBlob(StringBuilder o, byte[] b) => o.Append("{{").Append(Convert.ToBase64String(b)).Append("}}");

    private static void WriteSymbol(StringBuilder o, string name)
    {
        if (IsIdentifier(name)) o.Append(name);
        else
        {
            o.Append('\'');
            Escape(o, name, '\'');
            o.Append('\'');
        }
    }

    private static bool IsIdentifier(string s)
    {
        if (s.Length == 0 || s is "true" or "false" or "null" or "nan") return false;
        if (!(char.IsAsciiLetter(s[0]) || s[0] == '_' || s[0] == '$')) return false;
        foreach (var c in s)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '$')) return false;
        return s[0] != '$' || !s.StartsWith("$ion", StringComparison.Ordinal);
    }

    private static void WriteString(StringBuilder o, string s)
    {
        o.Append('"');
        Escape(o, s, '"');
        o.Append('"');
    }

    private static void Escape(StringBuilder o, string s, char quote)
    {
        foreach (var c in s)
        {
            if (c == quote || c == '\\') o.Append('\\').Append(c);
            else if (c == '\n') o.Append("\\n");
            else if (c == '\r') o.Append("\\r");
            else if (c == '\t') o.Append("\\t");
            else if (c < 0x20 || c == 0x7F) o.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else o.Append(c);
        }
    }

    /// <summary>
    /// Reads Ion text one top-level value at a time and rewrites each as DynamoDB JSON, so that imports validate Ion
    /// items with the same reader as requests. A top-level <c>{Item:{…}}</c> becomes <c>{"Item":{"a":{"S":…},…}}</c>.
    /// </summary>
    public sealed class Reader(TextReader input)
    {
        private readonly TextReader _in = input;
        private readonly StringBuilder _token = new();

        /// <summary>
        /// Writes the next top-level struct as DynamoDB JSON into <paramref name="output"/>; false at the end of the
        /// input. Throws <see cref="FormatException"/> on text that is not Ion of the expected shape.
        /// </summary>
        public bool TryReadRecord(IBufferWriter<byte> output)
        {
            while (true)
            {
                SkipSpace();
                var c = Peek();
                if (c < 0) return false;
                if (c == '$' || char.IsAsciiLetter((char)c))
                {
                    var symbol = ReadIdentifier();
                    if (symbol == VersionMarker) continue;
                    throw new FormatException($"Unexpected symbol '{symbol}' at the top level");
                }

                if (c != '{') throw new FormatException($"Expected a struct, found '{(char)c}'");
                using var w = new Utf8JsonWriter(output);
                Next();
                w.WriteStartObject();
                ReadFields(w, (writer, name) =>
                {
                    writer.WritePropertyName(name);
                    if (name is "Item" or "Keys" or "NewImage" or "OldImage") ReadAttributeMap(writer);
                    else WriteAttributeValue(writer, 0);
                });
                w.WriteEndObject();
                w.Flush();
                return true;
            }
        }

        private void ReadAttributeMap(Utf8JsonWriter w)
        {
            SkipSpace();
            if (Next() != '{') throw new FormatException("Expected a struct of attributes");
            w.WriteStartObject();
            ReadFields(w, (writer, name) =>
            {
                writer.WritePropertyName(name);
                WriteAttributeValue(writer, 0);
            });
            w.WriteEndObject();
        }

        /// <summary>Reads <c>name: value, …}</c> (the opening brace consumed), calling <paramref name="field"/> at each value.</summary>
        private void ReadFields(Utf8JsonWriter w, Action<Utf8JsonWriter, string> field)
        {
            while (true)
            {
                SkipSpace();
                var c = Peek();
                if (c == '}')
                {
                    Next();
                    return;
                }

                var name = c switch
                {
                    '"' => ReadQuoted('"'),
                    '\'' => ReadQuoted('\''),
                    _ => ReadIdentifier(),
                };
                SkipSpace();
                if (Next() != ':') throw new FormatException($"Expected ':' after field name '{name}'");
                field(w, name);
                SkipSpace();
                c = Peek();
                if (c == ',') Next();
                else if (c != '}') throw new FormatException("Expected ',' or '}' in a struct");
            }
        }

        private void WriteAttributeValue(Utf8JsonWriter w, int depth)
        {
            if (depth > AttrJson.MaxNestingDepth) throw new FormatException("Nesting too deep");
            SkipSpace();
            string? annotation = null;
            var c = Peek();
            if (c == '$' || char.IsAsciiLetter((char)c) || c == '\'')
            {
                var symbol = c == '\'' ? ReadQuoted('\'') : ReadIdentifier();
                SkipSpace();
                if (Peek() == ':' && PeekSecond() == ':')
                {
                    Next();
                    Next();
                    annotation = symbol;
                    SkipSpace();
                    c = Peek();
                }
                else
                {
                    WriteKeyword(w, symbol);
                    return;
                }
            }

            w.WriteStartObject();
            switch (c)
            {
                case '"':
                    w.WriteString("S", ReadQuoted('"'));
                    break;
                case '[':
                    Next();
                    if (annotation is "$dynamodb_SS" or "$dynamodb_NS" or "$dynamodb_BS") WriteSet(w, annotation);
                    else
                    {
                        w.WriteStartArray("L");
                        ReadElements(() => WriteAttributeValue(w, depth + 1));
                        w.WriteEndArray();
                    }

                    break;
                case '{':
                    Next();
                    if (Peek() == '{')
                    {
                        Next();
                        w.WriteString("B", ReadBlobBody());
                        break;
                    }

                    w.WritePropertyName("M");
                    w.WriteStartObject();
                    ReadFields(w, (writer, name) =>
                    {
                        writer.WritePropertyName(name);
                        WriteAttributeValue(writer, depth + 1);
                    });
                    w.WriteEndObject();
                    break;
                default:
                    if (c == '-' || c == '+' || char.IsAsciiDigit((char)c)) w.WriteString("N", ReadNumber());
                    else throw new FormatException($"Unexpected character '{(char)c}'");
                    break;
            }

            w.WriteEndObject();
        }

        private void WriteSet(Utf8JsonWriter w, string annotation)
        {
            w.WriteStartArray(annotation[^2..]);
            ReadElements(() =>
            {
                SkipSpace();
                if (annotation == "$dynamodb_SS") w.WriteStringValue(ReadQuoted('"'));
                else if (annotation == "$dynamodb_NS") w.WriteStringValue(ReadNumber());
                else
                {
                    if (Next() != '{' || Next() != '{') throw new FormatException("Expected a blob in a binary set");
                    w.WriteStringValue(ReadBlobBody());
                }
            });
            w.WriteEndArray();
        }

        private void ReadElements(Action element)
        {
            while (true)
            {
                SkipSpace();
                if (Peek() == ']')
                {
                    Next();
                    return;
                }

                element();
                SkipSpace();
                var c = Peek();
                if (c == ',') Next();
                else if (c != ']') throw new FormatException("Expected ',' or ']' in a list");
            }
        }

        private static void WriteKeyword(Utf8JsonWriter w, string symbol)
        {
            w.WriteStartObject();
            switch (symbol)
            {
                case "true": w.WriteBoolean("BOOL", true); break;
                case "false": w.WriteBoolean("BOOL", false); break;
                default:
                    if (symbol == "null" || symbol.StartsWith("null.", StringComparison.Ordinal)) w.WriteBoolean("NULL", true);
                    else throw new FormatException($"Unexpected symbol '{symbol}' as a value");
                    break;
            }

            w.WriteEndObject();
        }

        private string ReadBlobBody()
        {
            _token.Clear();
            while (true)
            {
                var c = Next();
                if (c < 0) throw new FormatException("Unterminated blob");
                if (c == '}')
                {
                    if (Next() != '}') throw new FormatException("Expected '}}' after a blob");
                    return _token.ToString();
                }

                if (!char.IsWhiteSpace((char)c)) _token.Append((char)c);
            }
        }

        /// <summary>An Ion int or decimal (<c>6d2</c>, <c>103.</c>, <c>-1.5</c>, <c>1_000</c>) as DynamoDB number text.</summary>
        private string ReadNumber()
        {
            _token.Clear();
            while (Peek() is var c && c >= 0 && (char.IsAsciiLetterOrDigit((char)c) || c is '-' or '+' or '.' or '_'))
            {
                Next();
                if (c == '_') continue;
                _token.Append(c is 'd' or 'D' ? 'E' : (char)c);
            }

            if (_token.Length > 0 && _token[^1] == '.') _token.Length--;
            var text = _token.ToString();
            if (text.Length == 0) throw new FormatException("Expected a number");
            return text;
        }

        private string ReadIdentifier()
        {
            _token.Clear();
            while (Peek() is var c && c >= 0 && (char.IsAsciiLetterOrDigit((char)c) || c is '_' or '$' or '.'))
            {
                Next();
                _token.Append((char)c);
            }

            if (_token.Length == 0) throw new FormatException($"Unexpected character '{(char)Peek()}'");
            return _token.ToString();
        }

        private string ReadQuoted(char quote)
        {
            if (Next() != quote) throw new FormatException("Expected a quoted string");
            _token.Clear();
            while (true)
            {
                var c = Next();
                if (c < 0) throw new FormatException("Unterminated string");
                if (c == quote) return _token.ToString();
                if (c != '\\')
                {
                    _token.Append((char)c);
                    continue;
                }

                var e = Next();
                switch (e)
                {
                    case 'n': _token.Append('\n'); break;
                    case 'r': _token.Append('\r'); break;
                    case 't': _token.Append('\t'); break;
                    case '0': _token.Append('\0'); break;
                    case 'a': _token.Append('\a'); break;
                    case 'b': _token.Append('\b'); break;
                    case 'f': _token.Append('\f'); break;
                    case 'v': _token.Append('\v'); break;
                    case 'x': _token.Append((char)ReadHex(2)); break;
                    case 'u': _token.Append((char)ReadHex(4)); break;
                    case 'U': _token.Append(char.ConvertFromUtf32(ReadHex(8))); break;
                    case '\n': break;
                    default:
                        if (e < 0) throw new FormatException("Unterminated string");
                        _token.Append((char)e);
                        break;
                }
            }
        }

        private int ReadHex(int digits)
        {
            var v = 0;
            for (var i = 0; i < digits; i++)
            {
                var c = Next();
                var d = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : c is >= 'A' and <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0) throw new FormatException("Bad hex escape");
                v = (v * 16) + d;
            }

            return v;
        }

        private void SkipSpace()
        {
            while (true)
            {
                var c = Peek();
                if (c < 0) return;
                if (char.IsWhiteSpace((char)c))
                {
                    Next();
                    continue;
                }

                if (c == '/' && PeekSecond() == '/')
                {
                    while (Peek() is var d && d >= 0 && d != '\n') Next();
                    continue;
                }

                if (c == '/' && PeekSecond() == '*')
                {
                    Next();
                    Next();
                    while (!(Peek() == '*' && PeekSecond() == '/'))
                        if (Next() < 0) return;
                    Next();
                    Next();
                    continue;
                }

                return;
            }
        }

        private int _peeked = -2;
        private int _peeked2 = -2;

        private int Peek()
        {
            if (_peeked == -2) _peeked = _in.Read();
            return _peeked;
        }

        private int PeekSecond()
        {
            Peek();
            if (_peeked2 == -2) _peeked2 = _in.Read();
            return _peeked2;
        }

        private int Next()
        {
            var c = Peek();
            _peeked = _peeked2;
            _peeked2 = -2;
            return c;
        }
    }
}
