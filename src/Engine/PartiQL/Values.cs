using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;

namespace Serverless.Engine.PartiQL;

/// <summary>Turns literal and parameter expressions into attribute values, with AWS's rules for bags (sets).</summary>
internal static class PqValues
{
    /// <summary>The value of <paramref name="e"/>, or null when it is not a value (a path, a call, a condition).</summary>
    public static AttrValue? TryBuild(PqExpr e, IReadOnlyList<AttrValue> parameters) => e switch
    {
        PqLiteral l => l.Value,
        PqParam p => parameters[p.Ordinal],
        PqTuple or PqCollection => Build(e, parameters),
        _ => null,
    };

    public static AttrValue Build(PqExpr e, IReadOnlyList<AttrValue> parameters)
    {
        switch (e)
        {
            case PqLiteral l:
                return l.Value;
            case PqParam p:
                return parameters[p.Ordinal];
            case PqTuple t:
            {
                var map = new Dictionary<string, AttrValue>(t.Members.Count, StringComparer.Ordinal);
                foreach (var m in t.Members) map[m.Key] = Build(m.Value, parameters);
                return AttrValue.FromM(map);
            }

            case PqCollection { Bag: false } c:
            {
                var list = new List<AttrValue>(c.Elements.Count);
                foreach (var x in c.Elements) list.Add(Build(x, parameters));
                return AttrValue.FromL(list);
            }

            case PqCollection c:
                return Bag(c, parameters);
            default:
                throw PqErrors.Malformed(PqErrors.UnexpectedTerm);
        }
    }

    private static AttrValue Bag(PqCollection c, IReadOnlyList<AttrValue> parameters)
    {
        if (c.Elements.Count == 0) throw PqErrors.Validation(PqErrors.EmptyBag);
        var values = new List<AttrValue>(c.Elements.Count);
        foreach (var x in c.Elements) values.Add(Build(x, parameters));
        var type = values[0].Type;
        if (type is not (AttrType.S or AttrType.N or AttrType.B)) throw PqErrors.Validation(PqErrors.BagType);
        foreach (var v in values)
            if (v.Type != type) throw PqErrors.Validation(PqErrors.BagType);
        if (type == AttrType.B)
        {
            var bytes = new List<byte[]>(values.Count);
            var seenBytes = new HashSet<byte[]>(ByteArrayComparer.Instance);
            foreach (var v in values)
                if (!seenBytes.Add(v.B)) throw PqErrors.Validation(PqErrors.BagDuplicates);
            foreach (var v in values) bytes.Add(v.B);
            return AttrValue.FromBS(bytes);
        }

        var texts = new List<string>(values.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            var text = type == AttrType.S ? v.S : v.N;
            if (!seen.Add(text)) throw PqErrors.Validation(PqErrors.BagDuplicates);
            texts.Add(text);
        }

        return type == AttrType.S ? AttrValue.FromSS(texts) : AttrValue.FromNS(texts);
    }

    /// <summary>Reads the request's Parameters list (typed attribute values), with the JSON API's value checks.</summary>
    public static List<AttrValue> ReadParameters(JsonElement? list)
    {
        var result = new List<AttrValue>();
        if (list is not { } l) return result;
        foreach (var p in l.EnumerateArray())
        {
            if (!AttrJson.TryReadValue(p, out var value, out var error)) throw error.ToException();
            result.Add(value);
        }

        return result;
    }
}

/// <summary>
/// The placeholders of one internal request: each attribute name and value a statement uses becomes <c>#nK</c> or
/// <c>:vK</c>, so the rendered expression text goes through the JSON API's expression parser unchanged.
/// </summary>
internal sealed class PqExpressionText
{
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly List<AttrValue> _values = [];

    public bool IsEmpty => _names.Count == 0 && _values.Count == 0;

    public string Name(string attribute)
    {
        if (_names.TryGetValue(attribute, out var placeholder)) return placeholder;
        placeholder = "#n" + _names.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _names[attribute] = placeholder;
        return placeholder;
    }

    public string Value(AttrValue value)
    {
        _values.Add(value);
        return ":v" + (_values.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public void AppendPath(StringBuilder sb, PqPath path)
    {
        var first = true;
        foreach (var step in path.Steps)
        {
            if (step.Name == null)
            {
                sb.Append('[').Append(step.Index).Append(']');
                continue;
            }

            if (!first) sb.Append('.');
            sb.Append(Name(step.Name));
            first = false;
        }
    }

    public string Path(PqPath path)
    {
        var sb = new StringBuilder();
        AppendPath(sb, path);
        return sb.ToString();
    }

    /// <summary>The placeholders as the JSON API's expression parser takes them (tests compile rendered text with it).</summary>
    public Expressions.ExpressionAttributes ToAttributes()
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (attribute, placeholder) in _names) names[placeholder] = attribute;
        var values = new Dictionary<string, AttrValue>(StringComparer.Ordinal);
        for (var i = 0; i < _values.Count; i++) values[":v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = _values[i];
        return new Expressions.ExpressionAttributes(names.Count == 0 ? null : names, values.Count == 0 ? null : values);
    }

    /// <summary>
    /// Writes ExpressionAttributeNames and ExpressionAttributeValues, each only when it has members;
    /// <paramref name="partition"/> is the value of <c>:pk</c>, the partition of one query of a SELECT.
    /// </summary>
    public void Write(Utf8JsonWriter w, AttrValue? partition = null)
    {
        if (_names.Count > 0)
        {
            w.WriteStartObject("ExpressionAttributeNames"u8);
            foreach (var (attribute, placeholder) in _names) w.WriteString(placeholder, attribute);
            w.WriteEndObject();
        }

        if (_values.Count > 0 || partition != null)
        {
            w.WriteStartObject("ExpressionAttributeValues"u8);
            if (partition != null)
            {
                w.WritePropertyName(":pk"u8);
                AttrJson.WriteValue(w, partition);
            }

            for (var i = 0; i < _values.Count; i++)
            {
                w.WritePropertyName(":v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                AttrJson.WriteValue(w, _values[i]);
            }

            w.WriteEndObject();
        }
    }
}
