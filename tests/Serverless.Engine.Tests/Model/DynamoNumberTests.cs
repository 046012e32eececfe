using Serverless.Engine.Model;

namespace Serverless.Engine.Tests.Model;

public class DynamoNumberTests
{
    [Theory]
    [InlineData("01.50", "1.5")]
    [InlineData("-0", "0")]
    [InlineData("0.000", "0")]
    [InlineData("1e3", "1000")]
    [InlineData("1.5E-3", "0.0015")]
    [InlineData("+7", "7")]
    [InlineData(".5", "0.5")]
    [InlineData("-123.4500", "-123.45")]
    [InlineData("12345678901234567890123456789012345678", "12345678901234567890123456789012345678")]
    public void Parse_Canonicalises(string input, string expected)
    {
        Assert.Equal(DynamoNumber.ParseStatus.Ok, DynamoNumber.TryParse(input, out var n));
        Assert.Equal(expected, n.ToString());
    }

    [Fact]
    public void Parse_LargestExponent_PrintsPlain()
    {
        Assert.Equal(DynamoNumber.ParseStatus.Ok, DynamoNumber.TryParse("1E125", out var n));
        Assert.Equal("1" + new string('0', 125), n.ToString());
    }

    [Theory]
    [InlineData("abc", DynamoNumber.ParseStatus.Invalid)]
    [InlineData("", DynamoNumber.ParseStatus.Invalid)]
    [InlineData("1e", DynamoNumber.ParseStatus.Invalid)]
    [InlineData("1.2.3", DynamoNumber.ParseStatus.Invalid)]
    [InlineData("123456789012345678901234567890123456789", DynamoNumber.ParseStatus.TooManyDigits)]
    [InlineData("1E126", DynamoNumber.ParseStatus.Overflow)]
    [InlineData("1E-131", DynamoNumber.ParseStatus.Underflow)]
    public void Parse_RejectsOutOfRange(string input, DynamoNumber.ParseStatus expected)
    {
        Assert.Equal(expected, DynamoNumber.TryParse(input, out _));
    }

    [Theory]
    [InlineData("1", "2", -1)]
    [InlineData("-1", "-2", 1)]
    [InlineData("10", "9.99", 1)]
    [InlineData("-0.001", "0", -1)]
    [InlineData("1.50", "1.5", 0)]
    [InlineData("1E10", "9999999999", 1)]
    public void Compare_IsNumeric(string a, string b, int expected)
    {
        DynamoNumber.TryParse(a, out var x);
        DynamoNumber.TryParse(b, out var y);
        Assert.Equal(expected, Math.Sign(x.CompareTo(y)));
    }

    [Fact]
    public void Add_KeepsExactDecimalDigits()
    {
        DynamoNumber.TryParse("0.1", out var a);
        DynamoNumber.TryParse("0.2", out var b);
        Assert.Equal(DynamoNumber.ParseStatus.Ok, DynamoNumber.TryAdd(a, b, out var sum));
        Assert.Equal("0.3", sum.ToString());
        Assert.Equal(DynamoNumber.ParseStatus.Ok, DynamoNumber.TrySubtract(a, b, out var diff));
        Assert.Equal("-0.1", diff.ToString());
    }
}
