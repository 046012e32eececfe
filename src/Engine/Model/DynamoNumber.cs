using System.Globalization;
using System.Numerics;
using System.Text;

namespace Serverless.Engine.Model;

/// <summary>
/// A DynamoDB number: up to 38 significant decimal digits, magnitude between 1E-130 and
/// 9.9999999999999999999999999999999999999E+125 (or zero). Value = <see cref="Mantissa"/> x 10^<see cref="Exponent"/>,
/// with the mantissa carrying no trailing zeros, so every value has exactly one representation.
/// </summary>
public readonly struct DynamoNumber : IComparable<DynamoNumber>, IEquatable<DynamoNumber>
{
    public const int MaxDigits = 38;
    public const int MaxAdjustedExponent = 125;
    public const int MinAdjustedExponent = -130;

    public static readonly DynamoNumber Zero = new(BigInteger.Zero, 0);

    private DynamoNumber(BigInteger mantissa, int exponent)
    {
        Mantissa = mantissa;
        Exponent = exponent;
    }

    public BigInteger Mantissa { get; }

    public int Exponent { get; }

    public bool IsZero => Mantissa.IsZero;

    public int Sign => Mantissa.Sign;

    /// <summary>Number of significant digits (0 for zero).</summary>
    public int Digits => Mantissa.IsZero ? 0 : CountDigits(BigInteger.Abs(Mantissa));

    /// <summary>Exponent of the most significant digit, as in scientific notation (d.ddd x 10^e).</summary>
    public int AdjustedExponent => Mantissa.IsZero ? 0 : Digits - 1 + Exponent;

    public enum ParseStatus
    {
        Ok,
        Invalid,
        TooManyDigits,
        Overflow,
        Underflow,
    }

    /// <summary>Parses the textual forms DynamoDB accepts (<c>-01.50</c>, <c>1e3</c>, <c>.5</c>) and checks the limits.</summary>
    public static ParseStatus TryParse(ReadOnlySpan<char> text, out DynamoNumber value)
    {
        value = Zero;
        var s = text.Trim();
        if (s.IsEmpty) return ParseStatus.Invalid;
        var i = 0;
        var negative = false;
        if (s[0] is '+' or '-')
        {
            negative = s[0] == '-';
            i++;
        }

        var digits = new StringBuilder(s.Length);
        var fractionDigits = 0;
        var sawDigit = false;
        var sawPoint = false;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c is >= '0' and <= '9')
            {
                sawDigit = true;
                if (digits.Length > 0 || c != '0') digits.Append(c);
                if (sawPoint) fractionDigits++;
            }
            else if (c == '.' && !sawPoint)
            {
                sawPoint = true;
            }
            else
            {
                break;
            }
        }

        if (!sawDigit) return ParseStatus.Invalid;
        long exp = 0;
        if (i < s.Length)
        {
            if (s[i] is not ('e' or 'E')) return ParseStatus.Invalid;
            i++;
            if (i >= s.Length) return ParseStatus.Invalid;
            var expNeg = false;
            if (s[i] is '+' or '-')
            {
                expNeg = s[i] == '-';
                i++;
            }

            if (i >= s.Length) return ParseStatus.Invalid;
            for (; i < s.Length; i++)
            {
                var c = s[i];
                if (c is < '0' or > '9') return ParseStatus.Invalid;
                if (exp < 100_000) exp = exp * 10 + (c - '0');
            }

            if (expNeg) exp = -exp;
        }

        // digits now has no leading zeros; strip trailing zeros into the exponent.
        var len = digits.Length;
        var trailing = 0;
        while (trailing < len && digits[len - 1 - trailing] == '0') trailing++;
        var sig = len - trailing;
        if (sig == 0) return ParseStatus.Ok; // zero, whatever its spelling
        if (sig > MaxDigits) return ParseStatus.TooManyDigits;
        var exponent = exp - fractionDigits + trailing;
        var adjusted = sig - 1 + exponent;
        if (adjusted > MaxAdjustedExponent) return ParseStatus.Overflow;
        if (adjusted < MinAdjustedExponent) return ParseStatus.Underflow;
        var mantissa = BigInteger.Parse(digits.ToString(0, sig), NumberStyles.None, CultureInfo.InvariantCulture);
        value = new DynamoNumber(negative ? -mantissa : mantissa, (int)exponent);
        return ParseStatus.Ok;
    }

    /// <summary>Parses a string produced by <see cref="ToString"/>; no validation beyond syntax.</summary>
    public static DynamoNumber ParseCanonical(string canonical)
    {
        var status = TryParse(canonical, out var n);
        if (status != ParseStatus.Ok) throw new FormatException($"Not a canonical number: {canonical}");
        return n;
    }

    /// <summary>Builds a number from an exact mantissa and exponent, checking DynamoDB's limits.</summary>
    public static ParseStatus TryCreate(BigInteger mantissa, int exponent, out DynamoNumber value)
    {
        value = Zero;
        if (mantissa.IsZero) return ParseStatus.Ok;
        while (mantissa % 10 == 0)
        {
            mantissa /= 10;
            exponent++;
        }

        var digits = CountDigits(BigInteger.Abs(mantissa));
        if (digits > MaxDigits) return ParseStatus.TooManyDigits;
        var adjusted = digits - 1 + exponent;
        if (adjusted > MaxAdjustedExponent) return ParseStatus.Overflow;
        if (adjusted < MinAdjustedExponent) return ParseStatus.Underflow;
        value = new DynamoNumber(mantissa, exponent);
        return ParseStatus.Ok;
    }

    public static ParseStatus TryAdd(DynamoNumber a, DynamoNumber b, out DynamoNumber result)
    {
        var e = Math.Min(a.Exponent, b.Exponent);
        var ma = a.Mantissa * BigInteger.Pow(10, a.Exponent - e);
        var mb = b.Mantissa * BigInteger.Pow(10, b.Exponent - e);
        return TryCreate(ma + mb, e, out result);
    }

    public static ParseStatus TrySubtract(DynamoNumber a, DynamoNumber b, out DynamoNumber result) =>
        TryAdd(a, new DynamoNumber(-b.Mantissa, b.Exponent), out result);

    public int CompareTo(DynamoNumber other)
    {
        if (Sign != other.Sign) return Sign.CompareTo(other.Sign);
        if (Sign == 0) return 0;
        var e = Math.Min(Exponent, other.Exponent);
        // Compare by adjusted exponent first to avoid huge multiplications.
        var ae = AdjustedExponent;
        var be = other.AdjustedExponent;
        if (ae != be) return Sign > 0 ? ae.CompareTo(be) : be.CompareTo(ae);
        var ma = Mantissa * BigInteger.Pow(10, Exponent - e);
        var mb = other.Mantissa * BigInteger.Pow(10, other.Exponent - e);
        return ma.CompareTo(mb);
    }

    public bool Equals(DynamoNumber other) => Exponent == other.Exponent && Mantissa == other.Mantissa;

    public override bool Equals(object? obj) => obj is DynamoNumber n && Equals(n);

    public override int GetHashCode() => HashCode.Combine(Mantissa, Exponent);

    /// <summary>Canonical plain notation, as DynamoDB returns numbers: no exponent, no superfluous zeros.</summary>
    public override string ToString()
    {
        if (Mantissa.IsZero) return "0";
        var digits = BigInteger.Abs(Mantissa).ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder(digits.Length + Math.Abs(Exponent) + 3);
        if (Mantissa.Sign < 0) sb.Append('-');
        if (Exponent >= 0)
        {
            sb.Append(digits).Append('0', Exponent);
        }
        else
        {
            var point = digits.Length + Exponent; // digits before the decimal point
            if (point > 0)
            {
                sb.Append(digits, 0, point).Append('.').Append(digits, point, digits.Length - point);
            }
            else
            {
                sb.Append("0.").Append('0', -point).Append(digits);
            }
        }

        return sb.ToString();
    }

    private static int CountDigits(BigInteger positive)
    {
        // Digit count via log10 estimate, corrected exactly.
        var n = (int)Math.Floor(BigInteger.Log10(positive)) + 1;
        if (BigInteger.Pow(10, n - 1) > positive) n--;
        else if (BigInteger.Pow(10, n) <= positive) n++;
        return n;
    }
}
