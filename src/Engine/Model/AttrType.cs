namespace Serverless.Engine.Model;

/// <summary>The ten DynamoDB attribute types. The numeric values are persisted in the item encoding: never change them.</summary>
public enum AttrType : byte
{
    S = 1,
    N = 2,
    B = 3,
    Bool = 4,
    Null = 5,
    L = 6,
    M = 7,
    SS = 8,
    NS = 9,
    BS = 10,
}

public static class AttrTypeNames
{
    /// <summary>The wire name of a type, as it appears in JSON (<c>"BOOL"</c>, <c>"SS"</c>, ...).</summary>
    public static string Name(AttrType type) => type switch
    {
        AttrType.S => "S",
        AttrType.N => "N",
        AttrType.B => "B",
        AttrType.Bool => "BOOL",
        AttrType.Null => "NULL",
        AttrType.L => "L",
        AttrType.M => "M",
        AttrType.SS => "SS",
        AttrType.NS => "NS",
        AttrType.BS => "BS",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static bool TryParse(ReadOnlySpan<char> name, out AttrType type)
    {
        type = name switch
        {
            "S" => AttrType.S,
            "N" => AttrType.N,
            "B" => AttrType.B,
            "BOOL" => AttrType.Bool,
            "NULL" => AttrType.Null,
            "L" => AttrType.L,
            "M" => AttrType.M,
            "SS" => AttrType.SS,
            "NS" => AttrType.NS,
            "BS" => AttrType.BS,
            _ => 0,
        };
        return type != 0;
    }
}
