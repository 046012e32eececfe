using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;

namespace Serverless.Engine.Tests.HotPath;

/// <summary>
/// The allocation-free paths must store exactly what the general paths store: PutItem's plain items encoded from the
/// JSON, UpdateItem's SETs made on the encoded item, and string keys encoded from the request UTF-8.
/// </summary>
public class EncodedFastPathTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Theory]
    [InlineData("""{"pk":{"S":"k1"},"val":{"S":"hello world"},"n":{"N":"42"}}""")]
    [InlineData("""{"pk":{"S":"héllo"},"neg":{"N":"-1234567890123456789012345678901234567"},"zero":{"N":"0"},"t":{"BOOL":true},"f":{"BOOL":false},"z":{"NULL":true},"e":{"S":""}}""")]
    [InlineData("""{"名前":{"S":"値"},"x":{"N":"7"}}""")]
    public void PlainItem_EncodesAsTheGeneralPathDoes(string json)
    {
        var item = Json(json);
        Assert.True(ItemCodec.TryMeasurePlain(item, out var size, out var length));
        var bytes = new byte[length];
        Assert.Equal(length, ItemCodec.WritePlain(item, length, bytes));

        var general = AttrJson.ReadItem(item);
        Assert.Equal(ItemCodec.Encode(general), bytes);
        Assert.Equal(ItemSize.Of(general), size);
    }

    [Theory]
    [InlineData("""{"a":{"S":"x\"y"}}""")] // an escape in a value
    [InlineData("""{"a\u0062":{"S":"x"}}""")] // an escape in a name
    [InlineData("""{"a":{"S":"x"},"a":{"S":"y"}}""")] // duplicate names: the general reader keeps the last
    [InlineData("""{"a":{"N":"1.5"}}""")] // not an integer
    [InlineData("""{"a":{"N":"007"}}""")] // not canonical
    [InlineData("""{"a":{"N":"-0"}}""")]
    [InlineData("""{"a":{"M":{}}}""")] // nested
    [InlineData("""{"a":{"SS":["x"]}}""")] // sets
    [InlineData("""{"a":{"S":"x","N":"1"}}""")] // two types
    [InlineData("""{"a":{"NULL":false}}""")]
    [InlineData("""{"a":{"S":null}}""")]
    [InlineData("""{"":{"S":"x"}}""")]
    public void NonPlainItem_TakesTheGeneralPath(string json) =>
        Assert.False(ItemCodec.TryMeasurePlain(Json(json), out _, out _));

    [Fact]
    public void StringKey_FromUtf8_EqualsTheValueEncoding()
    {
        Span<byte> fast = stackalloc byte[64];
        var n = KeyCodec.EncodeStringKey(7, Encoding.UTF8.GetBytes("h\u00e9llo"), true, "sort"u8, fast);
        Assert.Equal(KeyCodec.EncodeKey(7, AttrValue.FromS("h\u00e9llo"), AttrValue.FromS("sort")), fast[..n].ToArray());
        n = KeyCodec.EncodeStringKey(3, "k0000001"u8, false, default, fast);
        Assert.Equal(KeyCodec.EncodeKey(3, AttrValue.FromS("k0000001"), null), fast[..n].ToArray());
    }

    public static TheoryData<string, string[], string[]> Edits => new()
    {
        // Replace in place, append new ones, and start from nothing.
        { """{"pk":{"S":"k"},"a":{"S":"old"},"b":{"N":"1"}}""", ["b", "c"], ["""{"N":"2"}""", """{"S":"new"}"""] },
        { """{"pk":{"S":"k"},"big":{"L":[{"S":"x"},{"M":{"q":{"N":"1"}}}]},"s":{"SS":["a","b"]}}""", ["s", "big"], ["""{"BOOL":true}""", """{"NULL":true}"""] },
        { "", ["pk", "n", "t"], ["""{"S":"k"}""", """{"N":"5"}""", """{"S":"t\u00e9"}"""] },
    };

    [Theory]
    [MemberData(nameof(Edits))]
    public void SetOnEncodedItem_EqualsDecodeAssignEncode(string current, string[] names, string[] valueJson)
    {
        var values = Array.ConvertAll(valueJson, v => AttrJson.ReadValue(Json(v)));
        var encoded = current.Length == 0 ? [] : ItemCodec.Encode(AttrJson.ReadItem(Json(current)));

        var (size, length) = ItemCodec.MeasureWithAttributes(encoded, names, values);
        var output = new ArrayBufferWriter<byte>();
        ItemCodec.WriteWithAttributes(encoded, names, values, length, output);

        var expected = current.Length == 0 ? new Dictionary<string, AttrValue>(StringComparer.Ordinal) : ItemCodec.Decode(encoded);
        for (var i = 0; i < names.Length; i++) expected[names[i]] = values[i];
        Assert.Equal(ItemCodec.Encode(expected), output.WrittenSpan.ToArray());
        Assert.Equal(ItemSize.Of(expected), size);
        Assert.Equal(length, output.WrittenCount);
    }
}
