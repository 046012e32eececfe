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
    private HashSet<string>? _usedNames;
    private HashSet<string>? _usedValues;

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
            (_usedNames ??= new HashSet<string>(StringComparer.Ordinal)).Add(placeholder);
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
            (_usedValues ??= new HashSet<string>(StringComparer.Ordinal)).Add(placeholder);
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
        if (_names != null)
        {
            var unused = _names.Keys.Where(k => _usedNames == null || !_usedNames.Contains(k)).ToList();
            if (unused.Count > 0)
                throw DynamoErrors.Validation(
                    "Value provided in ExpressionAttributeNames unused in expressions: keys: {" + string.Join(", ", unused) + "}");
        }

        if (_values != null)
        {
            var unused = _values.Keys.Where(k => _usedValues == null || !_usedValues.Contains(k)).ToList();
            if (unused.Count > 0)
                throw DynamoErrors.Validation(
                    "Value provided in ExpressionAttributeValues unused in expressions: keys: {" + string.Join(", ", unused) + "}");
        }
    }
}
