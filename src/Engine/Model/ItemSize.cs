using System.Text;

namespace Serverless.Engine.Model;

/// <summary>
/// Item and attribute sizes by DynamoDB's rule ("Item sizes and formats"), as used for the 400 KB item limit and
/// for capacity units:
/// <list type="bullet">
/// <item>each attribute: UTF-8 bytes of its name + size of its value;</item>
/// <item>S: UTF-8 bytes; B: raw bytes; BOOL and NULL: 1;</item>
/// <item>N: 1 byte + one byte per pair of significant digits, pairs aligned on the decimal point (the number's
/// base-100 digit count), + 1 if negative; zero is 1 byte;</item>
/// <item>SS, NS, BS: sum of the element sizes;</item>
/// <item>L: 3 + for each element (1 + element size); M: 3 + for each entry (1 + UTF-8 name bytes + value size).</item>
/// </list>
/// </summary>
public static class ItemSize
{
    /// <summary>DynamoDB's maximum item size (400 KB).</summary>
    public const int MaxItemBytes = 400 * 1024;

    public const int MaxPartitionKeyBytes = 2048;

    public const int MaxSortKeyBytes = 1024;

    public static int Of(IReadOnlyDictionary<string, AttrValue> item)
    {
        var size = 0;
        foreach (var (name, value) in item) size += Encoding.UTF8.GetByteCount(name) + OfValue(value);
        return size;
    }

    public static int OfValue(AttrValue value)
    {
        switch (value.Type)
        {
            case AttrType.S:
                return Encoding.UTF8.GetByteCount(value.S);
            case AttrType.N:
                return OfNumber(value.N);
            case AttrType.B:
                return value.B.Length;
            case AttrType.Bool:
            case AttrType.Null:
                return 1;
            case AttrType.L:
                {
                    var list = value.L;
                    var size = 3;
                    for (var i = 0; i < list.Count; i++) size += 1 + OfValue(list[i]);
                    return size;
                }

            case AttrType.M:
                {
                    var map = value.M;
                    var size = 3 + map.Count;
                    foreach (var (name, v) in map) size += Encoding.UTF8.GetByteCount(name) + OfValue(v);
                    return size;
                }

            case AttrType.SS:
                {
                    var set = value.StringSet;
                    var size = 0;
                    for (var i = 0; i < set.Count; i++) size += Encoding.UTF8.GetByteCount(set[i]);
                    return size;
                }

            case AttrType.NS:
                {
                    var set = value.StringSet;
                    var size = 0;
                    for (var i = 0; i < set.Count; i++) size += OfNumber(set[i]);
                    return size;
                }

            case AttrType.BS:
                {
                    var set = value.BS;
                    var size = 0;
                    for (var i = 0; i < set.Count; i++) size += set[i].Length;
                    return size;
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(value));
        }
    }

    /// <summary>Size of a number given in canonical text.</summary>
    public static int OfNumber(string canonical)
    {
        Span<byte> ascii = stackalloc byte[CanonicalNumberText.MaxLength];
        var n = CanonicalNumberText.ToAscii(canonical, ascii);
        return OfNumber(ascii[..n]);
    }

    /// <summary>Size of a number given in canonical ASCII text.</summary>
    public static int OfNumber(ReadOnlySpan<byte> canonicalAscii)
    {
        var num = CanonicalNumberText.Parse(canonicalAscii);
        if (num.IsZero) return 1;
        var digits = num.DigitCount;
        // Base-100 digits: an even digit count starting on an even exponent straddles one more pair.
        var extra = digits % 2 == 0 && num.AdjustedExponent % 2 == 0 ? 1 : 0;
        return 1 + (digits + 1) / 2 + extra + (num.Negative ? 1 : 0);
    }

    /// <summary>
    /// Size of a key attribute value as DynamoDB measures it for the key limits: UTF-8 bytes for S, raw bytes for B.
    /// Numbers are never rejected for size (their size is at most 21 bytes); this returns their number size.
    /// </summary>
    public static int OfKeyValue(AttrValue value) => value.Type switch
    {
        AttrType.S => Encoding.UTF8.GetByteCount(value.S),
        AttrType.B => value.B.Length,
        AttrType.N => OfNumber(value.N),
        _ => throw new ArgumentException("Key values are S, N or B.", nameof(value)),
    };

    /// <summary>
    /// The AWS validation message when a key value is too large, or null when it fits. The partition-key message
    /// really has no space before 2048.
    /// </summary>
    public static string? CheckKeySize(AttrValue value, bool isPartitionKey)
    {
        if (value.Type == AttrType.N) return null;
        var size = OfKeyValue(value);
        if (isPartitionKey)
        {
            return size > MaxPartitionKeyBytes
                ? "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
                : null;
        }

        return size > MaxSortKeyBytes
            ? "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
            : null;
    }
}
