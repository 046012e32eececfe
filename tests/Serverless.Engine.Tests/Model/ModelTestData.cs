using Serverless.Engine.Model;

namespace Serverless.Engine.Tests.Model;

internal static class ModelTestData
{
    /// <summary>All ten types, nested, with a fixed insertion order (the golden encoding depends on it).</summary>
    public static Dictionary<string, AttrValue> RepresentativeItem() => new(StringComparer.Ordinal)
    {
        ["s"] = AttrValue.FromS("hé"),
        ["n"] = AttrValue.FromCanonicalN("-12.5"),
        ["b"] = AttrValue.FromB([0x00, 0xFF]),
        ["t"] = AttrValue.True,
        ["z"] = AttrValue.Null,
        ["l"] = AttrValue.FromL([AttrValue.FromS("x"), AttrValue.False]),
        ["m"] = AttrValue.FromM(new Dictionary<string, AttrValue>(StringComparer.Ordinal)
        {
            ["k"] = AttrValue.FromCanonicalN("7"),
            ["in"] = AttrValue.FromM(new Dictionary<string, AttrValue>(StringComparer.Ordinal)),
        }),
        ["ss"] = AttrValue.FromSS(["a", "b"]),
        ["ns"] = AttrValue.FromNS(["1", "0.5"]),
        ["bs"] = AttrValue.FromBS([[1], [2, 3]]),
    };

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    public static bool ItemsEqual(IReadOnlyDictionary<string, AttrValue> a, IReadOnlyDictionary<string, AttrValue> b)
    {
        if (a.Count != b.Count) return false;
        foreach (var (k, v) in a)
            if (!b.TryGetValue(k, out var w) || !v.Equals(w)) return false;
        return true;
    }
}
