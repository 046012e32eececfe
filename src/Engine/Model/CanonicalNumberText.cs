using System.Text;

namespace Serverless.Engine.Model;

/// <summary>
/// Allocation-free analysis of a number in canonical text form (<see cref="DynamoNumber.ToString"/>):
/// <c>0</c>, <c>-?\d+</c>, <c>-?\d+\.\d+</c>. Used by the key encoding and the item-size rule, which both need
/// the significant digits and the exponent without going through <see cref="System.Numerics.BigInteger"/>.
/// </summary>
internal readonly ref struct CanonicalNumberText
{
    /// <summary>Longest canonical text: sign + "0." + 129 zeros + 38 digits, or 38 digits + 125 zeros (+ sign).</summary>
    public const int MaxLength = 176;

    private readonly ReadOnlySpan<byte> _text;
    private readonly int _first; // index in _text of the first significant digit
    private readonly int _last;  // index in _text of the last significant digit

    private CanonicalNumberText(ReadOnlySpan<byte> text, bool negative, int first, int last, int digits, int adjustedExponent)
    {
        _text = text;
        Negative = negative;
        _first = first;
        _last = last;
        DigitCount = digits;
        AdjustedExponent = adjustedExponent;
    }

    public bool IsZero => DigitCount == 0;

    public bool Negative { get; }

    /// <summary>Significant digits: no leading or trailing zeros (0 for zero).</summary>
    public int DigitCount { get; }

    /// <summary>Exponent of the most significant digit (d.ddd x 10^e); 0 for zero.</summary>
    public int AdjustedExponent { get; }

    /// <summary>Analyses ASCII canonical text. The span must stay alive while the result is used.</summary>
    public static CanonicalNumberText Parse(ReadOnlySpan<byte> text)
    {
        var i = 0;
        var negative = false;
        if (text.Length > 0 && text[0] == (byte)'-')
        {
            negative = true;
            i = 1;
        }

        var point = text.IndexOf((byte)'.');
        var intLen = (point < 0 ? text.Length : point) - i;
        var first = -1;
        var last = -1;
        var digitIndex = 0; // index among digits (point skipped)
        var firstDigitIndex = 0;
        var digits = 0;
        var significantSoFar = 0;
        for (var p = i; p < text.Length; p++)
        {
            var c = text[p];
            if (c == (byte)'.') continue;
            if (c != (byte)'0')
            {
                if (first < 0)
                {
                    first = p;
                    firstDigitIndex = digitIndex;
                    significantSoFar = 0;
                }

                last = p;
                significantSoFar++;
                digits = significantSoFar;
            }
            else if (first >= 0)
            {
                significantSoFar++;
            }

            digitIndex++;
        }

        if (first < 0) return new CanonicalNumberText(text, false, 0, -1, 0, 0);
        return new CanonicalNumberText(text, negative, first, last, digits, intLen - 1 - firstDigitIndex);
    }

    /// <summary>Copies the significant digits as ASCII into <paramref name="destination"/>; returns the count.</summary>
    public int CopyDigits(Span<byte> destination)
    {
        var n = 0;
        for (var p = _first; p <= _last; p++)
        {
            var c = _text[p];
            if (c != (byte)'.') destination[n++] = c;
        }

        return n;
    }

    /// <summary>Writes canonical text for sign, significant digits (ASCII, no leading/trailing zeros) and adjusted exponent.</summary>
    public static string Format(bool negative, ReadOnlySpan<byte> digits, int adjustedExponent)
    {
        if (digits.IsEmpty) return "0";
        Span<char> buffer = stackalloc char[MaxLength + 8];
        var n = 0;
        if (negative) buffer[n++] = '-';
        var count = digits.Length;
        if (adjustedExponent >= count - 1)
        {
            for (var k = 0; k < count; k++) buffer[n++] = (char)digits[k];
            for (var k = 0; k < adjustedExponent - (count - 1); k++) buffer[n++] = '0';
        }
        else if (adjustedExponent >= 0)
        {
            for (var k = 0; k <= adjustedExponent; k++) buffer[n++] = (char)digits[k];
            buffer[n++] = '.';
            for (var k = adjustedExponent + 1; k < count; k++) buffer[n++] = (char)digits[k];
        }
        else
        {
            buffer[n++] = '0';
            buffer[n++] = '.';
            for (var k = 0; k < -adjustedExponent - 1; k++) buffer[n++] = '0';
            for (var k = 0; k < count; k++) buffer[n++] = (char)digits[k];
        }

        return new string(buffer[..n]);
    }

    /// <summary>Transcodes a canonical number string to ASCII bytes; returns the byte count.</summary>
    public static int ToAscii(string canonical, Span<byte> destination) =>
        Encoding.ASCII.GetBytes(canonical, destination);
}
