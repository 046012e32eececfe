using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Model;

/// <summary>Which DynamoDB error a malformed attribute value produces.</summary>
public enum AttrJsonErrorKind : byte
{
    None = 0,

    /// <summary>Wrong JSON kind for a member (SerializationException; never wrapped with a context prefix).</summary>
    Serialization = 1,

    /// <summary>Well-formed but invalid value (ValidationException; callers may wrap the message).</summary>
    Validation = 2,
}

/// <summary>An error found while reading DynamoDB JSON: its kind and the exact AWS message.</summary>
public readonly record struct AttrJsonError(AttrJsonErrorKind Kind, string Message)
{
    public bool IsError => Kind != AttrJsonErrorKind.None;

    /// <summary>The exception to throw as is (no context prefix).</summary>
    public DynamoException ToException() => Kind == AttrJsonErrorKind.Serialization
        ? DynamoErrors.Serialization(Message)
        : DynamoErrors.Validation(Message);

    /// <summary>
    /// The exception with a validation message wrapped for its context, e.g.
    /// <c>e.ToException(m =&gt; $"ExpressionAttributeValues contains invalid value: {m} for key {key}")</c>.
    /// Serialization errors are never wrapped.
    /// </summary>
    public DynamoException ToException(Func<string, string> wrapValidation) => Kind == AttrJsonErrorKind.Serialization
        ? DynamoErrors.Serialization(Message)
        : DynamoErrors.Validation(wrapValidation(Message));
}

/// <summary>
/// DynamoDB JSON (<c>{"S":"x"}</c>, <c>{"M":{...}}</c>, ...) to and from <see cref="AttrValue"/>.
/// <para>
/// Reading validates the way DynamoDB does: a wrong JSON kind is a SerializationException with the message AWS's
/// deserializer gives; an invalid value is a ValidationException. As in DynamoDB, which deserializes the whole
/// request before validating it, a serialization error anywhere in the value wins over a validation error found
/// earlier in it. Null members and unknown members of an AttributeValue are ignored. Numbers are returned in
/// canonical form. The JSON document must have been parsed with a MaxDepth of at least 2 x
/// <see cref="MaxNestingDepth"/> + 8 so that the nesting rule, not the parser, rejects deep values.
/// </para>
/// </summary>
public static class AttrJson
{
    /// <summary>Maximum number of nested L/M containers in one attribute value.</summary>
    public const int MaxNestingDepth = 32;

    /// <summary>JsonDocument MaxDepth that request parsing needs so that deep values reach the nesting rule.</summary>
    public const int RequiredJsonMaxDepth = (2 * MaxNestingDepth) + 16;

    private const string Invalid = "One or more parameter values were invalid: ";
    private const string StructNotExpected = "Start of structure or map found where not expected";
    private const string UnexpectedField = "Unexpected field type";
    private const string UnexpectedValue = "Unexpected value type in payload";
    private const string BadBase64 = "Invalid last non-pad Base64 character dectected";

    /// <summary>DynamoDB's limit on an attribute name (at any depth), in UTF-8 bytes: 64 KB less one.</summary>
    public const int MaxAttributeNameBytes = 65535;

    /// <summary>AWS's message for an attribute name of 64 KB or more.</summary>
    public const string NameTooLarge = "1 validation error detected: Attribute name is too large, must be less than 65536 bytes";

    /// <summary>Whether <paramref name="name"/> is over <see cref="MaxAttributeNameBytes"/> (counted only when it could be).</summary>
    public static bool IsNameTooLarge(string name) =>
        name.Length > MaxAttributeNameBytes / 3 && System.Text.Encoding.UTF8.GetByteCount(name) > MaxAttributeNameBytes;

    public static bool TryReadValue(JsonElement element, [NotNullWhen(true)] out AttrValue? value, out AttrJsonError error)
    {
        var state = default(ReadState);
        var v = ReadValueCore(element, 0, ref state);
        return Finish(v, ref state, out value, out error);
    }

    /// <summary>Reads a JSON object of attribute name to AttributeValue (an Item, a Key, ExpressionAttributeValues).</summary>
    public static bool TryReadItem(JsonElement element, [NotNullWhen(true)] out Dictionary<string, AttrValue>? item, out AttrJsonError error)
    {
        var state = default(ReadState);
        var map = ReadMapCore(element, 0, ref state);
        return Finish(map, ref state, out item, out error);
    }

    /// <summary>Reads one AttributeValue; throws the DynamoDB error unwrapped.</summary>
    public static AttrValue ReadValue(JsonElement element)
    {
        if (!TryReadValue(element, out var value, out var error)) throw error.ToException();
        return value;
    }

    /// <summary>Reads an attribute map; throws the DynamoDB error unwrapped.</summary>
    public static Dictionary<string, AttrValue> ReadItem(JsonElement element)
    {
        if (!TryReadItem(element, out var item, out var error)) throw error.ToException();
        return item;
    }

    public static void WriteItem(Utf8JsonWriter writer, IReadOnlyDictionary<string, AttrValue> item)
    {
        writer.WriteStartObject();
        foreach (var (name, value) in item)
        {
            writer.WritePropertyName(name);
            WriteValue(writer, value);
        }

        writer.WriteEndObject();
    }

    public static void WriteValue(Utf8JsonWriter writer, AttrValue value)
    {
        writer.WriteStartObject();
        switch (value.Type)
        {
            case AttrType.S:
                writer.WriteString("S"u8, value.S);
                break;
            case AttrType.N:
                writer.WriteString("N"u8, value.N);
                break;
            case AttrType.B:
                writer.WriteBase64String("B"u8, value.B);
                break;
            case AttrType.Bool:
                writer.WriteBoolean("BOOL"u8, value.Bool);
                break;
            case AttrType.Null:
                writer.WriteBoolean("NULL"u8, true);
                break;
            case AttrType.L:
                {
                    writer.WriteStartArray("L"u8);
                    var list = value.L;
                    for (var i = 0; i < list.Count; i++) WriteValue(writer, list[i]);
                    writer.WriteEndArray();
                    break;
                }

            case AttrType.M:
                writer.WritePropertyName("M"u8);
                WriteItem(writer, value.M);
                break;
            case AttrType.SS:
            case AttrType.NS:
                {
                    writer.WriteStartArray(value.Type == AttrType.SS ? "SS"u8 : "NS"u8);
                    var set = value.StringSet;
                    for (var i = 0; i < set.Count; i++) writer.WriteStringValue(set[i]);
                    writer.WriteEndArray();
                    break;
                }

            case AttrType.BS:
                {
                    writer.WriteStartArray("BS"u8);
                    var set = value.BS;
                    for (var i = 0; i < set.Count; i++) writer.WriteBase64StringValue(set[i]);
                    writer.WriteEndArray();
                    break;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(value));
        }

        writer.WriteEndObject();
    }

    private struct ReadState
    {
        public string? Serialization;
        public string? Validation;

        public readonly bool Aborted => Serialization != null;

        public void Fail(string message) => Serialization ??= message;

        public void Invalid(string message) => Validation ??= message;
    }

    private static bool Finish<T>(T? result, ref ReadState state, [NotNullWhen(true)] out T? value, out AttrJsonError error)
        where T : class
    {
        if (state.Serialization != null)
        {
            value = null;
            error = new AttrJsonError(AttrJsonErrorKind.Serialization, state.Serialization);
            return false;
        }

        if (state.Validation != null || result == null)
        {
            value = null;
            error = new AttrJsonError(AttrJsonErrorKind.Validation, state.Validation ?? "Invalid attribute value");
            return false;
        }

        value = result;
        error = default;
        return true;
    }

    /// <summary>Reads a name → AttributeValue object. <paramref name="depth"/> is the depth of its values.</summary>
    private static Dictionary<string, AttrValue>? ReadMapCore(JsonElement element, int depth, ref ReadState state)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                break;
            case JsonValueKind.Array:
                state.Fail("Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>");
                return null;
            default:
                state.Fail(UnexpectedField);
                return null;
        }

        var map = new Dictionary<string, AttrValue>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var v = ReadValueCore(property.Value, depth, ref state);
            if (state.Aborted) return null;
            var name = property.Name;
            if (IsNameTooLarge(name)) state.Invalid(NameTooLarge);
            if (v != null) map[name] = v;
        }

        return map;
    }

    /// <summary>Reads one AttributeValue structure. Returns null after recording an error.</summary>
    private static AttrValue? ReadValueCore(JsonElement element, int depth, ref ReadState state)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                break;
            case JsonValueKind.Array:
                state.Fail("Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue");
                return null;
            case JsonValueKind.Null:
                state.Invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
                return null;
            default:
                state.Fail(UnexpectedValue);
                return null;
        }

        AttrValue? result = null;
        var types = 0;
        var hadError = false;
        foreach (var property in element.EnumerateObject())
        {
            var member = property.Value;
            if (member.ValueKind == JsonValueKind.Null) continue;
            AttrValue? v;
            if (property.NameEquals("S"u8))
            {
                v = ReadString(member, ref state) is { } s ? AttrValue.FromS(s) : null;
            }
            else if (property.NameEquals("N"u8))
            {
                v = ReadString(member, ref state) is { } s && ReadNumber(s, ref state) is { } n ? AttrValue.FromCanonicalN(n) : null;
            }
            else if (property.NameEquals("M"u8))
            {
                v = null;
                if (depth >= MaxNestingDepth) CheckNestingOnly(member, isList: false, ref state);
                else if (ReadMapCore(member, depth + 1, ref state) is { } m) v = AttrValue.FromM(m);
            }
            else if (property.NameEquals("L"u8))
            {
                v = null;
                if (depth >= MaxNestingDepth) CheckNestingOnly(member, isList: true, ref state);
                else if (ReadList(member, depth + 1, ref state) is { } l) v = AttrValue.FromL(l);
            }
            else if (property.NameEquals("BOOL"u8))
            {
                v = ReadBoolean(member, ref state) is { } b ? AttrValue.FromBool(b) : null;
            }
            else if (property.NameEquals("NULL"u8))
            {
                v = null;
                if (ReadBoolean(member, ref state) is { } b)
                {
                    if (b) v = AttrValue.Null;
                    else state.Invalid(Invalid + "Null attribute value types must have the value of true");
                }
            }
            else if (property.NameEquals("SS"u8))
            {
                v = ReadStringSet(member, ref state);
            }
            else if (property.NameEquals("NS"u8))
            {
                v = ReadNumberSet(member, ref state);
            }
            else if (property.NameEquals("B"u8))
            {
                v = ReadBinary(member, ref state) is { } bytes ? AttrValue.FromB(bytes) : null;
            }
            else if (property.NameEquals("BS"u8))
            {
                v = ReadBinarySet(member, ref state);
            }
            else
            {
                continue; // unknown members are ignored, as DynamoDB's deserializer does
            }

            if (state.Aborted) return null;
            types++;
            if (v == null) hadError = true;
            else result = v;
        }

        if (hadError) return null;
        if (types == 0)
        {
            state.Invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
            return null;
        }

        if (types > 1)
        {
            state.Invalid("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes");
            return null;
        }

        return result;
    }

    /// <summary>A container too deep: the nesting error, unless the JSON kind is wrong (serialization wins).</summary>
    private static void CheckNestingOnly(JsonElement member, bool isList, ref ReadState state)
    {
        if (isList)
        {
            if (member.ValueKind == JsonValueKind.Object) { state.Fail(StructNotExpected); return; }
            if (member.ValueKind != JsonValueKind.Array) { state.Fail(UnexpectedField); return; }
        }
        else
        {
            if (member.ValueKind == JsonValueKind.Array)
            {
                state.Fail("Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>");
                return;
            }

            if (member.ValueKind != JsonValueKind.Object) { state.Fail(UnexpectedField); return; }
        }

        state.Invalid("Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit");
    }

    private static List<AttrValue>? ReadList(JsonElement member, int depth, ref ReadState state)
    {
        if (!CheckList(member, ref state)) return null;
        var list = new List<AttrValue>(member.GetArrayLength());
        var ok = true;
        foreach (var child in member.EnumerateArray())
        {
            var v = ReadValueCore(child, depth, ref state);
            if (state.Aborted) return null;
            if (v == null) ok = false;
            else list.Add(v);
        }

        return ok ? list : null;
    }

    private static bool CheckList(JsonElement member, ref ReadState state)
    {
        switch (member.ValueKind)
        {
            case JsonValueKind.Array:
                return true;
            case JsonValueKind.Object:
                state.Fail(StructNotExpected);
                return false;
            default:
                state.Fail(UnexpectedField);
                return false;
        }
    }

    private static string? ReadString(JsonElement member, ref ReadState state)
    {
        switch (member.ValueKind)
        {
            case JsonValueKind.String:
                return member.GetString();
            case JsonValueKind.True:
                state.Fail("TRUE_VALUE cannot be converted to String");
                return null;
            case JsonValueKind.False:
                state.Fail("FALSE_VALUE cannot be converted to String");
                return null;
            case JsonValueKind.Number:
                state.Fail(IsDecimal(member) ? "DECIMAL_VALUE cannot be converted to String" : "NUMBER_VALUE cannot be converted to String");
                return null;
            case JsonValueKind.Array:
                state.Fail("Unrecognized collection type class java.lang.String");
                return null;
            case JsonValueKind.Object:
                state.Fail(StructNotExpected);
                return null;
            default:
                state.Fail(UnexpectedValue);
                return null;
        }
    }

    private static bool? ReadBoolean(JsonElement member, ref ReadState state)
    {
        switch (member.ValueKind)
        {
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.String:
                state.Fail("Unexpected token received from parser");
                return null;
            case JsonValueKind.Number:
                state.Fail(IsDecimal(member) ? "DECIMAL_VALUE cannot be converted to Boolean" : "NUMBER_VALUE cannot be converted to Boolean");
                return null;
            case JsonValueKind.Array:
                state.Fail("Unrecognized collection type class java.lang.Boolean");
                return null;
            case JsonValueKind.Object:
                state.Fail(StructNotExpected);
                return null;
            default:
                state.Fail(UnexpectedValue);
                return null;
        }
    }

    private static bool IsDecimal(JsonElement number)
    {
        var raw = number.GetRawText();
        return raw.AsSpan().IndexOfAny(".eE") >= 0;
    }

    /// <summary>Validates and canonicalises a number; records the AWS message on failure.</summary>
    /// <summary><c>0</c> or <c>-?[1-9][0-9]*</c> with at most 38 digits.</summary>
    private static bool IsCanonicalInteger(string text)
    {
        if (text == "0") return true;
        var digits = text.AsSpan(text.StartsWith('-') ? 1 : 0);
        if (digits.IsEmpty || digits.Length > 38 || digits[0] is < '1' or > '9') return false;
        foreach (var c in digits)
            if (c is < '0' or > '9') return false;
        return true;
    }

    private static string? ReadNumber(string text, ref ReadState state)
    {
        if (text.Length == 0)
        {
            state.Invalid("The parameter cannot be converted to a numeric value");
            return null;
        }

        // The parser tolerates surrounding spaces (expressions need that); a request's number may not have them.
        if (char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1]))
        {
            state.Invalid("The parameter cannot be converted to a numeric value: " + text);
            return null;
        }

        // An integer in canonical form already (the common case) is its own canonical text: no parse, no new string.
        if (IsCanonicalInteger(text)) return text;
        switch (DynamoNumber.TryParse(text, out var n))
        {
            case DynamoNumber.ParseStatus.Ok:
                return n.ToString();
            case DynamoNumber.ParseStatus.TooManyDigits:
                state.Invalid("Attempting to store more than 38 significant digits in a Number");
                return null;
            case DynamoNumber.ParseStatus.Overflow:
                state.Invalid("Number overflow. Attempting to store a number with magnitude larger than supported range");
                return null;
            case DynamoNumber.ParseStatus.Underflow:
                state.Invalid("Number underflow. Attempting to store a number with magnitude smaller than supported range");
                return null;
            default:
                state.Invalid("The parameter cannot be converted to a numeric value: " + text);
                return null;
        }
    }

    private static byte[]? ReadBinary(JsonElement member, ref ReadState state)
    {
        switch (member.ValueKind)
        {
            case JsonValueKind.String:
                break;
            case JsonValueKind.Array:
                state.Fail("Unrecognized collection type class java.nio.ByteBuffer");
                return null;
            case JsonValueKind.Object:
                state.Fail(StructNotExpected);
                return null;
            default:
                state.Fail("only base-64-encoded strings are convertible to bytes");
                return null;
        }

        var text = member.GetString()!;
        var result = Base64Strict.TryDecode(text, out var bytes);
        if (result == Base64Strict.Result.BadLength)
        {
            state.Fail("Base64 encoded length is expected a multiple of 4 bytes but found: " + text.Length);
            return null;
        }

        if (result != Base64Strict.Result.Ok)
        {
            state.Fail(BadBase64);
            return null;
        }

        return bytes;
    }

    private static AttrValue? ReadStringSet(JsonElement member, ref ReadState state)
    {
        if (!CheckList(member, ref state)) return null;
        var list = new List<string>(member.GetArrayLength());
        foreach (var child in member.EnumerateArray())
        {
            if (child.ValueKind == JsonValueKind.Null) { state.Fail(UnexpectedValue); return null; }
            var s = ReadString(child, ref state);
            if (s == null) return null;
            list.Add(s);
        }

        if (list.Count == 0)
        {
            state.Invalid(Invalid + "An string set  may not be empty");
            return null;
        }

        if (HasDuplicate(list))
        {
            state.Invalid(Invalid + "Input collection [" + string.Join(", ", list) + "] contains duplicates.");
            return null;
        }

        return AttrValue.FromSS(list);
    }

    private static AttrValue? ReadNumberSet(JsonElement member, ref ReadState state)
    {
        if (!CheckList(member, ref state)) return null;
        var texts = new List<string>(member.GetArrayLength());
        foreach (var child in member.EnumerateArray())
        {
            if (child.ValueKind == JsonValueKind.Null) { state.Fail(UnexpectedValue); return null; }
            var s = ReadString(child, ref state);
            if (s == null) return null;
            texts.Add(s);
        }

        if (texts.Count == 0)
        {
            state.Invalid(Invalid + "An number set  may not be empty");
            return null;
        }

        var list = new List<string>(texts.Count);
        for (var i = 0; i < texts.Count; i++)
        {
            var n = ReadNumber(texts[i], ref state);
            if (n == null) return null;
            list.Add(n);
        }

        if (HasDuplicate(list))
        {
            state.Invalid("Input collection contains duplicates");
            return null;
        }

        return AttrValue.FromNS(list);
    }

    private static AttrValue? ReadBinarySet(JsonElement member, ref ReadState state)
    {
        if (!CheckList(member, ref state)) return null;
        var list = new List<byte[]>(member.GetArrayLength());
        foreach (var child in member.EnumerateArray())
        {
            if (child.ValueKind == JsonValueKind.Null) { state.Fail(UnexpectedValue); return null; }
            var b = ReadBinary(child, ref state);
            if (b == null) return null;
            list.Add(b);
        }

        if (list.Count == 0)
        {
            state.Invalid(Invalid + "Binary sets should not be empty");
            return null;
        }

        if (HasDuplicate(list))
        {
            var texts = new StringBuilder();
            var first = true;
            foreach (var child in member.EnumerateArray())
            {
                if (!first) texts.Append(", ");
                texts.Append(child.GetString());
                first = false;
            }

            state.Invalid(Invalid + "Input collection [" + texts + "]of type BS contains duplicates.");
            return null;
        }

        return AttrValue.FromBS(list);
    }

    private static bool HasDuplicate(List<string> list)
    {
        if (list.Count < 2) return false;
        if (list.Count <= 8)
        {
            for (var i = 1; i < list.Count; i++)
                for (var j = 0; j < i; j++)
                    if (string.Equals(list[i], list[j], StringComparison.Ordinal)) return true;
            return false;
        }

        var seen = new HashSet<string>(list.Count, StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
            if (!seen.Add(list[i])) return true;
        return false;
    }

    private static bool HasDuplicate(List<byte[]> list)
    {
        if (list.Count < 2) return false;
        var seen = new HashSet<byte[]>(list.Count, ByteArrayComparer.Instance);
        for (var i = 0; i < list.Count; i++)
            if (!seen.Add(list[i])) return true;
        return false;
    }
}

/// <summary>
/// Strict RFC 4648 base64 as DynamoDB accepts it: length a multiple of 4, only the standard alphabet, padding
/// only at the end, and the unused bits of the last character zero (so every value has one spelling).
/// </summary>
internal static class Base64Strict
{
    public enum Result
    {
        Ok,
        BadLength,
        BadCharacter,
    }

    public static Result TryDecode(string text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length % 4 != 0) return Result.BadLength;
        if (text.Length == 0) return Result.Ok;
        var pad = 0;
        if (text[^1] == '=') pad = text[^2] == '=' ? 2 : 1;
        var data = text.Length - pad;
        for (var i = 0; i < data; i++)
            if (Value(text[i]) < 0) return Result.BadCharacter;
        // Unused low bits of the last data character must be zero.
        if (pad == 1 && (Value(text[data - 1]) & 0x3) != 0) return Result.BadCharacter;
        if (pad == 2 && (Value(text[data - 1]) & 0xF) != 0) return Result.BadCharacter;
        var result = new byte[(text.Length / 4 * 3) - pad];
        if (!Convert.TryFromBase64String(text, result, out var written) || written != result.Length) return Result.BadCharacter;
        bytes = result;
        return Result.Ok;
    }

    private static int Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '+' => 62,
        '/' => 63,
        _ => -1,
    };
}
