using Serverless.Engine.Model;

namespace Serverless.Engine.Tests.Model;

public class ItemSizeTests
{
    [Theory]
    [InlineData("0", 1)]
    [InlineData("1", 2)]
    [InlineData("10", 2)]
    [InlineData("12", 2)]
    [InlineData("100", 2)]
    [InlineData("123", 3)]
    [InlineData("1.2", 3)]
    [InlineData("1.23", 3)]
    [InlineData("12.3", 3)]
    [InlineData("1.234", 4)]
    [InlineData("0.1", 2)]
    [InlineData("0.012", 3)]
    [InlineData("-1", 3)]
    [InlineData("-1.2", 4)]
    [InlineData("12345678901234567890123456789012345678", 20)]
    [InlineData("-0.00000000000000000000000000000000000001", 3)]
    public void NumberSize_BaseHundredDigits(string canonical, int expected)
    {
        Assert.Equal(expected, ItemSize.OfValue(AttrValue.FromCanonicalN(canonical)));
    }

    [Fact]
    public void ItemSize_FollowsDocumentedRule()
    {
        var item = new Dictionary<string, AttrValue>(StringComparer.Ordinal)
        {
            ["id"] = AttrValue.FromS("abc"),          // 2 + 3
            ["é"] = AttrValue.FromS("日本"),           // 2 + 6
            ["n"] = AttrValue.FromCanonicalN("12345"), // 1 + (1 + 3)
            ["b"] = AttrValue.FromB(new byte[10]),     // 1 + 10
            ["t"] = AttrValue.True,                    // 1 + 1
            ["z"] = AttrValue.Null,                    // 1 + 1
            ["l"] = AttrValue.FromL([AttrValue.FromS("ab"), AttrValue.Null]), // 1 + 3 + (1+2) + (1+1)
            ["m"] = AttrValue.FromM(new Dictionary<string, AttrValue>(StringComparer.Ordinal) { ["k"] = AttrValue.FromS("v") }), // 1 + 3 + 1 + 1 + 1
            ["ss"] = AttrValue.FromSS(["a", "bc"]),   // 2 + 3
            ["ns"] = AttrValue.FromNS(["1", "-1"]),   // 2 + 2 + 3
            ["bs"] = AttrValue.FromBS([new byte[2], new byte[3]]), // 2 + 5
        };
        Assert.Equal(5 + 8 + 5 + 11 + 2 + 2 + 9 + 7 + 5 + 7 + 7, ItemSize.Of(item));
        Assert.Equal(ItemSize.Of(item), ItemCodec.ItemSizeOf(ItemCodec.Encode(item)));
    }

    [Fact]
    public void KeySize_Limits()
    {
        Assert.Null(ItemSize.CheckKeySize(AttrValue.FromS(new string('a', 2048)), isPartitionKey: true));
        Assert.Equal(
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
            ItemSize.CheckKeySize(AttrValue.FromS(new string('a', 2049)), isPartitionKey: true));
        Assert.Null(ItemSize.CheckKeySize(AttrValue.FromB(new byte[1024]), isPartitionKey: false));
        Assert.Equal(
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
            ItemSize.CheckKeySize(AttrValue.FromS(new string('é', 513)), isPartitionKey: false));
        Assert.Equal(1026, ItemSize.OfKeyValue(AttrValue.FromS(new string('é', 513))));
    }
}
