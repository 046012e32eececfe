using System.Globalization;
using System.Text.Json;

namespace Serverless.Replicator.Triggers;

/// <summary>
/// Lambda event filtering (the EventBridge pattern language) over stream records: a record passes when any pattern
/// matches. Within a pattern every field must match; a field's array of conditions matches when any condition does;
/// an event array matches when any of its elements does. Conditions: literals (equality), <c>prefix</c>,
/// <c>suffix</c>, <c>equals-ignore-case</c>, <c>numeric</c> ranges, <c>exists</c>, <c>anything-but</c> (values or
/// a prefix), and <c>$or</c> of sub-patterns. Compiled once; matching allocates nothing.
/// </summary>
/// <remarks>
/// Deviation kept on purpose: stream records carry DynamoDB numbers as strings (<c>{"N":"42"}</c>), so a numeric
/// range also matches a string that parses as a number, letting <c>{"N":[{"numeric":[">",10]}]}</c> work.
/// </remarks>
public sealed class EventFilter
{
    public static readonly EventFilter All = new([]);

    private readonly PatternNode[] _patterns;

    private EventFilter(PatternNode[] patterns) => _patterns = patterns;

    public bool MatchesEverything => _patterns.Length == 0;

    /// <summary>Parses FilterCriteria: a JSON array of patterns or pattern strings, or <c>{"Filters":[{"Pattern":"…"}]}</c>.</summary>
    public static EventFilter Parse(string? criteria)
    {
        if (string.IsNullOrWhiteSpace(criteria)) return All;
        try
        {
            using var document = JsonDocument.Parse(criteria);
            var root = document.RootElement;
            var patterns = new List<PatternNode>();
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Filters", out var filters) && filters.ValueKind == JsonValueKind.Array)
            {
                foreach (var f in filters.EnumerateArray())
                {
                    if (!f.TryGetProperty("Pattern", out var p)) throw new FormatException("each of Filters needs a Pattern.");
                    patterns.Add(ParsePattern(p));
                }
            }
            else if (root.ValueKind == JsonValueKind.Array)
            {
                foreach (var p in root.EnumerateArray()) patterns.Add(ParsePattern(p));
            }
            else if (root.ValueKind == JsonValueKind.Object)
            {
                patterns.Add(ParseObject(root));
            }
            else
            {
                throw new FormatException("expected a JSON array of filter patterns.");
            }

            if (patterns.Count > 5) throw new FormatException("at most 5 filter patterns are allowed, as on Lambda.");
            return new EventFilter([.. patterns]);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>True if <paramref name="record"/> (one stream record) matches any pattern, or there are none.</summary>
    public bool Matches(JsonElement record)
    {
        if (_patterns.Length == 0) return true;
        foreach (var p in _patterns)
        {
            if (p.Matches(record)) return true;
        }

        return false;
    }

    private static PatternNode ParsePattern(JsonElement p)
    {
        if (p.ValueKind == JsonValueKind.String)
        {
            using var inner = JsonDocument.Parse(p.GetString()!);
            return ParsePattern(inner.RootElement);
        }

        if (p.ValueKind != JsonValueKind.Object) throw new FormatException("a filter pattern must be a JSON object.");
        return ParseObject(p);
    }

    private static PatternNode ParseObject(JsonElement o)
    {
        var fields = new List<(string, PatternNode?, Condition[]?)>();
        var ors = new List<PatternNode[]>();
        foreach (var property in o.EnumerateObject())
        {
            var value = property.Value;
            if (property.Name == "$or")
            {
                if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() < 2) throw new FormatException("$or needs an array of at least two patterns.");
                ors.Add([.. value.EnumerateArray().Select(ParsePattern)]);
            }
            else if (value.ValueKind == JsonValueKind.Object)
            {
                fields.Add((property.Name, ParseObject(value), null));
            }
            else if (value.ValueKind == JsonValueKind.Array)
            {
                if (value.GetArrayLength() == 0) throw new FormatException($"the conditions of '{property.Name}' are empty.");
                fields.Add((property.Name, null, [.. value.EnumerateArray().Select(ParseCondition)]));
            }
            else
            {
                throw new FormatException($"'{property.Name}' must be an object or an array of conditions, not {value.ValueKind}.");
            }
        }

        return new PatternNode([.. fields], [.. ors]);
    }

    private static Condition ParseCondition(JsonElement c)
    {
        switch (c.ValueKind)
        {
            case JsonValueKind.String:
            case JsonValueKind.Number:
            case JsonValueKind.True:
            case JsonValueKind.False:
            case JsonValueKind.Null:
                return Condition.Equal(c);
            case JsonValueKind.Object:
                break;
            default:
                throw new FormatException($"unsupported condition {c.GetRawText()}.");
        }

        using var properties = c.EnumerateObject();
        if (!properties.MoveNext()) throw new FormatException("an empty condition object.");
        var (name, value) = (properties.Current.Name, properties.Current.Value);
        if (properties.MoveNext()) throw new FormatException($"a condition object has one operator: {c.GetRawText()}.");
        return name switch
        {
            "prefix" when value.ValueKind == JsonValueKind.String => new Condition(ConditionKind.Prefix, value.GetString()!),
            "suffix" when value.ValueKind == JsonValueKind.String => new Condition(ConditionKind.Suffix, value.GetString()!),
            "equals-ignore-case" when value.ValueKind == JsonValueKind.String => new Condition(ConditionKind.EqualsIgnoreCase, value.GetString()!),
            "exists" when value.ValueKind is JsonValueKind.True or JsonValueKind.False => new Condition(value.ValueKind == JsonValueKind.True ? ConditionKind.Exists : ConditionKind.NotExists, null),
            "numeric" => Condition.Numeric(value),
            "anything-but" => Condition.AnythingBut(value),
            _ => throw new FormatException($"unsupported condition {c.GetRawText()}."),
        };
    }

    private sealed class PatternNode((string Name, PatternNode? Nested, Condition[]? Conditions)[] fields, PatternNode[][] ors)
    {
        public bool Matches(JsonElement? value)
        {
            var isObject = value is { ValueKind: JsonValueKind.Object };
            foreach (var (name, nested, conditions) in fields)
            {
                JsonElement? child = isObject && value!.Value.TryGetProperty(name, out var c) ? c : null;
                if (nested != null)
                {
                    if (!nested.Matches(child)) return false;
                }
                else if (!AnyCondition(conditions!, child))
                {
                    return false;
                }
            }

            foreach (var alternatives in ors)
            {
                var any = false;
                foreach (var alternative in alternatives)
                {
                    if (alternative.Matches(value))
                    {
                        any = true;
                        break;
                    }
                }

                if (!any) return false;
            }

            return true;
        }

        private static bool AnyCondition(Condition[] conditions, JsonElement? value)
        {
            foreach (var condition in conditions)
            {
                if (value is { ValueKind: JsonValueKind.Array } array)
                {
                    if (condition.Kind is ConditionKind.Exists or ConditionKind.NotExists)
                    {
                        if (condition.Test(array)) return true;
                        continue;
                    }

                    foreach (var element in array.EnumerateArray())
                    {
                        if (condition.Test(element)) return true;
                    }
                }
                else if (condition.Test(value))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private enum ConditionKind
    {
        Equal,
        Prefix,
        Suffix,
        EqualsIgnoreCase,
        Exists,
        NotExists,
        Numeric,
        AnythingBut,
        AnythingButPrefix,
    }

    private sealed class Condition(ConditionKind kind, string? text)
    {
        private JsonValueKind _literalKind;
        private decimal _number;
        private (string Op, decimal Bound)[] _range = [];
        private Condition[] _excluded = [];

        public ConditionKind Kind => kind;

        public static Condition Equal(JsonElement literal)
        {
            var condition = new Condition(ConditionKind.Equal, literal.ValueKind == JsonValueKind.String ? literal.GetString() : null)
            {
                _literalKind = literal.ValueKind is JsonValueKind.False ? JsonValueKind.False : literal.ValueKind,
            };
            if (literal.ValueKind == JsonValueKind.Number) condition._number = literal.GetDecimal();
            return condition;
        }

        public static Condition Numeric(JsonElement value)
        {
            if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() is not (2 or 4)) throw new FormatException("numeric needs [op, value] or [op, value, op, value].");
            var range = new List<(string, decimal)>();
            for (var i = 0; i < value.GetArrayLength(); i += 2)
            {
                var op = value[i].ValueKind == JsonValueKind.String ? value[i].GetString()! : "";
                if (op is not ("=" or "<" or "<=" or ">" or ">=")) throw new FormatException($"numeric operator '{value[i].GetRawText()}' is not one of = < <= > >=.");
                if (value[i + 1].ValueKind != JsonValueKind.Number) throw new FormatException("numeric bounds must be numbers.");
                range.Add((op, value[i + 1].GetDecimal()));
            }

            return new Condition(ConditionKind.Numeric, null) { _range = [.. range] };
        }

        public static Condition AnythingBut(JsonElement value)
        {
            if (value.ValueKind == JsonValueKind.Object)
            {
                if (value.TryGetProperty("prefix", out var prefix) && prefix.ValueKind == JsonValueKind.String)
                    return new Condition(ConditionKind.AnythingButPrefix, prefix.GetString());
                throw new FormatException("anything-but takes values or {\"prefix\": ...}.");
            }

            var excluded = value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray().Select(Equal)] : new[] { Equal(value) };
            return new Condition(ConditionKind.AnythingBut, null) { _excluded = excluded };
        }

        public bool Test(JsonElement? value)
        {
            switch (kind)
            {
                case ConditionKind.Exists:
                    return value.HasValue;
                case ConditionKind.NotExists:
                    return !value.HasValue;
            }

            if (value is not { } v) return false;
            switch (kind)
            {
                case ConditionKind.Equal:
                    return _literalKind switch
                    {
                        JsonValueKind.String => v.ValueKind == JsonValueKind.String && v.ValueEquals(text),
                        JsonValueKind.Number => v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d) && d == _number,
                        _ => v.ValueKind == _literalKind,
                    };
                case ConditionKind.Prefix:
                    return v.ValueKind == JsonValueKind.String && v.GetString()!.StartsWith(text!, StringComparison.Ordinal);
                case ConditionKind.Suffix:
                    return v.ValueKind == JsonValueKind.String && v.GetString()!.EndsWith(text!, StringComparison.Ordinal);
                case ConditionKind.EqualsIgnoreCase:
                    return v.ValueKind == JsonValueKind.String && string.Equals(v.GetString(), text, StringComparison.OrdinalIgnoreCase);
                case ConditionKind.AnythingButPrefix:
                    return v.ValueKind == JsonValueKind.String && !v.GetString()!.StartsWith(text!, StringComparison.Ordinal);
                case ConditionKind.AnythingBut:
                    foreach (var e in _excluded)
                    {
                        if (e.Test(v)) return false;
                    }

                    return true;
                case ConditionKind.Numeric:
                    {
                        decimal n;
                        if (v.ValueKind == JsonValueKind.Number)
                        {
                            if (!v.TryGetDecimal(out n)) return false;
                        }
                        else if (v.ValueKind != JsonValueKind.String
                            || !decimal.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out n))
                        {
                            return false;
                        }

                        foreach (var (op, bound) in _range)
                        {
                            var ok = op switch
                            {
                                "=" => n == bound,
                                "<" => n < bound,
                                "<=" => n <= bound,
                                ">" => n > bound,
                                _ => n >= bound,
                            };
                            if (!ok) return false;
                        }

                        return true;
                    }

                default:
                    return false;
            }
        }
    }
}
