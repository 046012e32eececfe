using System.Text.Json;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Operations;

/// <summary>
/// Typed access to request members, failing as AWS's JSON binder does: a member of the wrong JSON kind is a
/// SerializationException with the binder's text; absent and <c>null</c> members read as absent.
/// </summary>
internal static class Req
{
    public static bool Has(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public static string? String(JsonElement obj, string name) => obj.TryGetProperty(name, out var v) ? AsString(v) : null;

    private static string? AsString(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Null => null,
        _ => throw Mismatch(v, "String"),
    };

    // UTF-8 overloads for the hot item paths: a string name is transcoded to UTF-8 on every lookup.
    public static bool Has(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public static string? String(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.TryGetProperty(name, out var v) ? AsString(v) : null;

    /// <summary>
    /// TableName, as <see cref="String(JsonElement, ReadOnlySpan{byte})"/>, but a name equal to the one this thread read
    /// last is returned without allocating: item requests name the same few tables over and over.
    /// </summary>
    public static string? TableName(JsonElement obj)
    {
        if (!obj.TryGetProperty("TableName"u8, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) return AsString(v);
        var last = t_lastTableName;
        if (last != null && v.ValueEquals(last.Value.Utf8)) return last.Value.Name;
        var name = v.GetString()!;
        if (name.Length <= 255) t_lastTableName = (System.Text.Encoding.UTF8.GetBytes(name), name);
        return name;
    }

    [ThreadStatic]
    private static (byte[] Utf8, string Name)? t_lastTableName;

    /// <summary>
    /// A property's name, from this thread's small cache of short names (placeholders such as <c>:v</c> and <c>#n</c>
    /// recur in request after request), else a new string.
    /// </summary>
    public static string PropertyName(JsonProperty p)
    {
        var cache = t_names ??= new (byte[], string)[NameCacheSize];
        for (var i = 0; i < cache.Length; i++)
        {
            var entry = cache[i];
            if (entry.Utf8 == null) break;
            if (p.NameEquals(entry.Utf8)) return entry.Name;
        }

        var name = p.Name;
        if (name.Length <= 32)
        {
            var slot = t_nextName;
            cache[slot] = (System.Text.Encoding.UTF8.GetBytes(name), name);
            t_nextName = (slot + 1) % NameCacheSize;
        }

        return name;
    }

    private const int NameCacheSize = 16;

    [ThreadStatic]
    private static (byte[] Utf8, string Name)[]? t_names;

    [ThreadStatic]
    private static int t_nextName;

    public static bool? Bool(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.TryGetProperty(name, out var v) ? AsBool(v) : null;

    public static JsonElement? Map(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.TryGetProperty(name, out var v) ? AsMap(v) : null;

    public static List<string>? StringList(JsonElement obj, ReadOnlySpan<byte> name) =>
        obj.TryGetProperty(name, out var v) ? AsStringList(v) : null;

    public static bool? Bool(JsonElement obj, string name) => obj.TryGetProperty(name, out var v) ? AsBool(v) : null;

    private static bool? AsBool(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        JsonValueKind.String => throw DynamoErrors.Serialization("Unexpected token received from parser"),
        _ => throw Mismatch(v, "Boolean"),
    };

    public static long? Long(JsonElement obj, string name, string javaType = "Long")
    {
        if (!obj.TryGetProperty(name, out var v)) return null;
        switch (v.ValueKind)
        {
            case JsonValueKind.Number:
                if (v.TryGetInt64(out var l)) return l;
                if (v.TryGetDouble(out var d)) return d > long.MaxValue ? long.MaxValue : d < long.MinValue ? long.MinValue : (long)d;
                throw DynamoErrors.Serialization($"DECIMAL_VALUE cannot be converted to {javaType}");
            case JsonValueKind.Null:
                return null;
            default:
                throw Mismatch(v, javaType);
        }
    }

    /// <summary>A timestamp member (epoch seconds, as the SDKs send them); null when absent.</summary>
    public static double? Double(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Number => v.GetDouble(),
            JsonValueKind.Null => null,
            _ => throw Mismatch(v, "Timestamp"),
        };
    }

    /// <summary>A structure member; null when absent.</summary>
    public static JsonElement? Object(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Object => v,
            JsonValueKind.Null => null,
            JsonValueKind.Array => throw DynamoErrors.Serialization("Unrecognized collection type class com.amazonaws.dynamodb.v20120810." + name),
            _ => throw DynamoErrors.Serialization("Unexpected field type"),
        };
    }

    /// <summary>A map member (name → value); null when absent.</summary>
    public static JsonElement? Map(JsonElement obj, string name) => obj.TryGetProperty(name, out var v) ? AsMap(v) : null;

    /// <summary>Requires a map value (a Key, an element of a list of keys), failing as <see cref="Map(JsonElement, string)"/> does.</summary>
    public static void RequireMap(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Object) return;
        if (v.ValueKind == JsonValueKind.Null) throw DynamoErrors.Validation("The provided key element does not match the schema");
        AsMap(v);
    }

    private static JsonElement? AsMap(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Object => v,
        JsonValueKind.Null => null,
        _ => throw DynamoErrors.Serialization("Unexpected field type"),
    };

    /// <summary>A list member; null when absent.</summary>
    public static JsonElement? List(JsonElement obj, string name) => obj.TryGetProperty(name, out var v) ? AsList(v) : null;

    private static JsonElement? AsList(JsonElement v)
    {
        return v.ValueKind switch
        {
            JsonValueKind.Array => v,
            JsonValueKind.Null => null,
            JsonValueKind.Object => throw DynamoErrors.Serialization("Start of structure or map found where not expected"),
            _ => throw DynamoErrors.Serialization("Unexpected field type"),
        };
    }

    /// <summary>Reads a list of strings (e.g. AttributesToGet, TagKeys).</summary>
    public static List<string>? StringList(JsonElement obj, string name) => obj.TryGetProperty(name, out var v) ? AsStringList(v) : null;

    private static List<string>? AsStringList(JsonElement v)
    {
        if (AsList(v) is not { } list) return null;
        var result = new List<string>(list.GetArrayLength());
        foreach (var e in list.EnumerateArray())
        {
            if (e.ValueKind == JsonValueKind.String) result.Add(e.GetString()!);
            else if (e.ValueKind != JsonValueKind.Null) throw Mismatch(e, "String");
        }

        return result;
    }

    /// <summary>Requires a structure element of a list.</summary>
    public static void RequireObject(JsonElement element, string typeName)
    {
        if (element.ValueKind == JsonValueKind.Object) return;
        if (element.ValueKind == JsonValueKind.Array) throw DynamoErrors.Serialization("Unrecognized collection type class com.amazonaws.dynamodb.v20120810." + typeName);
        throw DynamoErrors.Serialization("Unexpected value type in payload");
    }

    private static DynamoException Mismatch(JsonElement v, string javaType) => v.ValueKind switch
    {
        JsonValueKind.True => DynamoErrors.Serialization($"TRUE_VALUE cannot be converted to {javaType}"),
        JsonValueKind.False => DynamoErrors.Serialization($"FALSE_VALUE cannot be converted to {javaType}"),
        JsonValueKind.Number => DynamoErrors.Serialization(v.TryGetInt64(out _) ? $"NUMBER_VALUE cannot be converted to {javaType}" : $"DECIMAL_VALUE cannot be converted to {javaType}"),
        JsonValueKind.String => DynamoErrors.Serialization($"STRING_VALUE cannot be converted to {javaType}"),
        JsonValueKind.Array => DynamoErrors.Serialization($"Unrecognized collection type class java.lang.{javaType}"),
        JsonValueKind.Object => DynamoErrors.Serialization("Start of structure or map found where not expected"),
        _ => DynamoErrors.Serialization("Unexpected field type"),
    };
}

/// <summary>Collects constraint violations and reports them in AWS's "N validation errors detected" form.</summary>
internal sealed class ConstraintErrors
{
    // Created on the first error: valid requests, the common case, allocate nothing here.
    private List<string>? _errors;

    [ThreadStatic]
    private static ConstraintErrors? t_reusable;

    /// <summary>
    /// This thread's collector, emptied: for the hot item paths, which fill it and call <see cref="ThrowIfAny"/> before
    /// anything else on the thread can take it (no await in between).
    /// </summary>
    public static ConstraintErrors ForThread()
    {
        var errors = t_reusable ??= new ConstraintErrors();
        errors._errors = null;
        return errors;
    }

    public bool Any => _errors is { Count: > 0 };

    public void Add(string path, string? value, string constraint)
    {
        _errors ??= [];
        if (_errors.Count >= 10) return;
        _errors.Add($"Value {(value is null ? "null" : "'" + value + "'")} at '{path}' failed to satisfy constraint: {constraint}");
    }

    public void NotNull(string path, object? value)
    {
        if (value is null) Add(path, null, "Member must not be null");
    }

    /// <summary>AWS's constraints on table and index names: pattern, then length 3..255.</summary>
    public void Name(string path, string? value, bool required = true, bool allowArn = false)
    {
        if (value is null)
        {
            if (required) NotNull(path, value);
            return;
        }

        // Where TableArns resolves the name, a table may be named by its ARN (up to 1024 characters).
        if (allowArn && TableArns.IsArn(value))
        {
            if (value.Length > TableArns.MaxLength) Add(path, value, $"Member must have length less than or equal to {TableArns.MaxLength}");
            return;
        }

        if (!IsValidName(value)) Add(path, value, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
        if (value.Length < 3) Add(path, value, "Member must have length greater than or equal to 3");
        if (value.Length > 255) Add(path, value, "Member must have length less than or equal to 255");
    }

    /// <summary>AWS's numeric range constraints, checked only when the value is present.</summary>
    public void Range(string path, long? value, long min, long max)
    {
        if (value < min) Add(path, value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), $"Member must have value greater than or equal to {min}");
        if (value > max) Add(path, value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), $"Member must have value less than or equal to {max}");
    }

    public void Enum(string path, string? value, string allowedList, params ReadOnlySpan<string> allowed)
    {
        if (value is null) return;
        foreach (var a in allowed)
            if (string.Equals(a, value, StringComparison.Ordinal)) return;
        Add(path, value, $"Member must satisfy enum value set: [{allowedList}]");
    }

    public void ThrowIfAny()
    {
        if (_errors is not { Count: > 0 }) return;
        var head = _errors.Count == 1 ? "1 validation error detected: " : $"{_errors.Count} validation errors detected: ";
        throw DynamoErrors.Validation(head + string.Join("; ", _errors));
    }

    public static bool IsValidName(string value)
    {
        foreach (var c in value)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')) return false;
        return value.Length > 0;
    }
}
