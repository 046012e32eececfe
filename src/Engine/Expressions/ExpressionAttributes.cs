using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Expressions;

/// <summary>
/// A request's ExpressionAttributeNames and ExpressionAttributeValues. Create one per request, compile every
/// expression of the request against it (which records the placeholders used), then call <see cref="ThrowIfUnused"/>.
/// Pass the same instance to evaluation. Not thread-safe while compiling; read-only afterwards.
/// </summary>
public sealed class ExpressionAttributes
{
    private readonly IReadOnlyDictionary<string, string>? _names;
    private readonly IReadOnlyDictionary<string, AttrValue>? _values;
    // The placeholders used, each once: a request has a handful, so a list beats a set.
    private List<string>? _usedNames;
    private List<string>? _usedValues;

    public ExpressionAttributes(IReadOnlyDictionary<string, string>? names, IReadOnlyDictionary<string, AttrValue>? values)
    {
        _names = names;
        _values = values;
    }

    /// <summary>No names and no values: for expressions without placeholders and for legacy-parameter trees.</summary>
    public static ExpressionAttributes Empty { get; } = new(null, null);

    internal bool TryName(string placeholder, out string name)
    {
        if (_names != null && _names.TryGetValue(placeholder, out var n))
        {
            Use(ref _usedNames, placeholder, _names.Count);
            name = n;
            return true;
        }

        name = "";
        return false;
    }

    internal bool TryValue(string placeholder, out AttrValue value)
    {
        if (_values != null && _values.TryGetValue(placeholder, out var v))
        {
            Use(ref _usedValues, placeholder, _values.Count);
            value = v;
            return true;
        }

        value = AttrValue.Null;
        return false;
    }

    /// <summary>Looks up a name placeholder that compilation has already checked.</summary>
    internal string Name(string placeholder) => _names![placeholder];

    /// <summary>Looks up a value placeholder that compilation has already checked.</summary>
    internal AttrValue Value(string placeholder) => _values![placeholder];

    /// <summary>
    /// Throws DynamoDB's ValidationException when a supplied name or value was not used by any of the request's
    /// expressions (names are checked first).
    /// </summary>
    public void ThrowIfUnused()
    {
        // Every placeholder counted once when used, so all are used when the counts match: no list on success.
        if (_names != null && (_usedNames?.Count ?? 0) != _names.Count)
            throw DynamoErrors.Validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {" + string.Join(", ", Unused(_names.Keys, _usedNames)) + "}");
        if (_values != null && (_usedValues?.Count ?? 0) != _values.Count)
            throw DynamoErrors.Validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {" + string.Join(", ", Unused(_values.Keys, _usedValues)) + "}");
    }

    private static void Use(ref List<string>? used, string placeholder, int capacity)
    {
        used ??= new List<string>(capacity);
        foreach (var u in used)
            if (string.Equals(u, placeholder, StringComparison.Ordinal)) return;
        used.Add(placeholder);
    }

    private static List<string> Unused(IEnumerable<string> keys, List<string>? used)
    {
        var unused = new List<string>();
        foreach (var k in keys)
            if (used == null || !used.Contains(k)) unused.Add(k);
        return unused;
    }
}
