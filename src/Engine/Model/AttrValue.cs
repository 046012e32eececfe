using System.Diagnostics.CodeAnalysis;

namespace Serverless.Engine.Model;

/// <summary>
/// One immutable DynamoDB attribute value. Numbers are held in canonical form (see <see cref="DynamoNumber"/>),
/// so two equal numbers have equal strings. Values are never mutated after construction: update expressions
/// build new values, which lets a parsed item be shared safely.
/// </summary>
public sealed class AttrValue : IEquatable<AttrValue>
{
    // The boxes must be declared first: static initialisers run in textual order.
    private static readonly object BoxedTrue = true;
    private static readonly object BoxedFalse = false;
    public static readonly AttrValue Null = new(AttrType.Null, null);
    public static readonly AttrValue True = new(AttrType.Bool, BoxedTrue);
    public static readonly AttrValue False = new(AttrType.Bool, BoxedFalse);

    private readonly object? _value;

    private AttrValue(AttrType type, object? value)
    {
        Type = type;
        _value = value;
    }

    public AttrType Type { get; }

    /// <summary>S value.</summary>
    public string S => (string)_value!;

    /// <summary>N value in canonical form.</summary>
    public string N => (string)_value!;

    public byte[] B => (byte[])_value!;

    public bool Bool => (bool)_value!;

    public IReadOnlyList<AttrValue> L => (List<AttrValue>)_value!;

    public IReadOnlyDictionary<string, AttrValue> M => (Dictionary<string, AttrValue>)_value!;

    /// <summary>SS values, or NS values in canonical form, in the order they were given.</summary>
    public IReadOnlyList<string> StringSet => (List<string>)_value!;

    public IReadOnlyList<byte[]> BS => (List<byte[]>)_value!;

    public bool IsSet => Type is AttrType.SS or AttrType.NS or AttrType.BS;

    public static AttrValue FromS(string s) => new(AttrType.S, s);

    /// <summary>A number from a string that is already canonical (<see cref="DynamoNumber.ToString"/>).</summary>
    public static AttrValue FromCanonicalN(string canonical) => new(AttrType.N, canonical);

    public static AttrValue FromN(DynamoNumber n) => new(AttrType.N, n.ToString());

    public static AttrValue FromB(byte[] b) => new(AttrType.B, b);

    public static AttrValue FromBool(bool b) => b ? True : False;

    /// <summary>Takes ownership of <paramref name="list"/>.</summary>
    public static AttrValue FromL(List<AttrValue> list) => new(AttrType.L, list);

    /// <summary>Takes ownership of <paramref name="map"/>, which must use ordinal comparison.</summary>
    public static AttrValue FromM(Dictionary<string, AttrValue> map) => new(AttrType.M, map);

    /// <summary>Takes ownership of <paramref name="values"/> (distinct, non-empty).</summary>
    public static AttrValue FromSS(List<string> values) => new(AttrType.SS, values);

    /// <summary>Takes ownership of <paramref name="canonicalValues"/> (distinct canonical numbers, non-empty).</summary>
    public static AttrValue FromNS(List<string> canonicalValues) => new(AttrType.NS, canonicalValues);

    /// <summary>Takes ownership of <paramref name="values"/> (distinct, non-empty).</summary>
    public static AttrValue FromBS(List<byte[]> values) => new(AttrType.BS, values);

    public DynamoNumber AsNumber() => DynamoNumber.ParseCanonical(N);

    public bool TryGetMap([NotNullWhen(true)] out IReadOnlyDictionary<string, AttrValue>? map)
    {
        map = Type == AttrType.M ? M : null;
        return map != null;
    }

    public bool TryGetList([NotNullWhen(true)] out IReadOnlyList<AttrValue>? list)
    {
        list = Type == AttrType.L ? L : null;
        return list != null;
    }

    /// <summary>Number of elements of a set, list or map; 0 otherwise.</summary>
    public int Count => Type switch
    {
        AttrType.L => L.Count,
        AttrType.M => M.Count,
        AttrType.SS or AttrType.NS => StringSet.Count,
        AttrType.BS => BS.Count,
        _ => 0,
    };

    /// <summary>DynamoDB equality: same type and same value; sets compare as sets, numbers numerically.</summary>
    public bool Equals(AttrValue? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is null || other.Type != Type) return false;
        switch (Type)
        {
            case AttrType.S:
            case AttrType.N:
                return string.Equals(S, other.S, StringComparison.Ordinal);
            case AttrType.B:
                return B.AsSpan().SequenceEqual(other.B);
            case AttrType.Bool:
                return Bool == other.Bool;
            case AttrType.Null:
                return true;
            case AttrType.L:
                {
                    var a = L;
                    var b = other.L;
                    if (a.Count != b.Count) return false;
                    for (var i = 0; i < a.Count; i++)
                        if (!a[i].Equals(b[i])) return false;
                    return true;
                }
            case AttrType.M:
                {
                    var a = M;
                    var b = other.M;
                    if (a.Count != b.Count) return false;
                    foreach (var (k, v) in a)
                        if (!b.TryGetValue(k, out var w) || !v.Equals(w)) return false;
                    return true;
                }
            case AttrType.SS:
            case AttrType.NS:
                {
                    var a = StringSet;
                    var b = other.StringSet;
                    if (a.Count != b.Count) return false;
                    var set = new HashSet<string>(a, StringComparer.Ordinal);
                    for (var i = 0; i < b.Count; i++)
                        if (!set.Contains(b[i])) return false;
                    return true;
                }
            case AttrType.BS:
                {
                    var a = BS;
                    var b = other.BS;
                    if (a.Count != b.Count) return false;
                    var set = new HashSet<byte[]>(a, ByteArrayComparer.Instance);
                    for (var i = 0; i < b.Count; i++)
                        if (!set.Contains(b[i])) return false;
                    return true;
                }
            default:
                return false;
        }
    }

    public override bool Equals(object? obj) => obj is AttrValue v && Equals(v);

    public override int GetHashCode() => Type switch
    {
        AttrType.S or AttrType.N => HashCode.Combine(Type, S),
        AttrType.B => HashCode.Combine(Type, B.Length, B.Length > 0 ? B[0] : 0),
        AttrType.Bool => HashCode.Combine(Type, Bool),
        _ => HashCode.Combine(Type, Count),
    };

    public override string ToString() => Type switch
    {
        AttrType.S => $"{{S:{S}}}",
        AttrType.N => $"{{N:{N}}}",
        AttrType.B => $"{{B:{Convert.ToBase64String(B)}}}",
        AttrType.Bool => Bool ? "{BOOL:true}" : "{BOOL:false}",
        AttrType.Null => "{NULL:true}",
        AttrType.L => "{L:[" + string.Join(",", L) + "]}",
        AttrType.M => "{M:{" + string.Join(",", M.Select(kv => kv.Key + ":" + kv.Value)) + "}}",
        AttrType.SS or AttrType.NS => "{" + AttrTypeNames.Name(Type) + ":[" + string.Join(",", StringSet) + "]}",
        AttrType.BS => "{BS:[" + string.Join(",", BS.Select(Convert.ToBase64String)) + "]}",
        _ => "?",
    };
}
