using System.Text;
using System.Text.Json;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Tests.Protocol;

/// <summary>The well-formedness check that makes every later string read of a request safe.</summary>
public sealed class RequestTextTests
{
    [Theory]
    [InlineData("""{"a":"plain"}""")]
    [InlineData("""{"a":"é 😀 中"}""")]
    [InlineData("""{"a":"\ud83d\ude00"}""")]
    [InlineData("""{"a":"\uD83D\uDE00\u0041"}""")]
    [InlineData("""{"a":"\\ud800"}""")] // an escaped backslash, then the letters "ud800"
    [InlineData("""{"a":"\\\\\ud83d\ude00"}""")]
    [InlineData("""{"\ud83d\ude00":"\u00e9"}""")]
    public void WellFormedBodies_Pass_AndEveryStringReads(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);

        Assert.True(RequestText.IsWellFormed(body));
        using var document = JsonDocument.Parse(body);
        foreach (var p in document.RootElement.EnumerateObject()) _ = p.Name + p.Value.GetString();
    }

    [Theory]
    [InlineData("""{"a":"\ud800"}""")]
    [InlineData("""{"a":"\udc00"}""")]
    [InlineData("""{"a":"\ud800\u0041"}""")]
    [InlineData("""{"a":"\ud800x"}""")]
    [InlineData("""{"a":"\ud83d\ud83d"}""")]
    [InlineData("""{"a":"\\\ud800"}""")] // an escaped backslash, then a real lone escape
    [InlineData("""{"\udfff":"v"}""")]
    [InlineData("""{"a":"x\ud800""")] // truncated right after the escape
    public void UnpairedSurrogateEscapes_Fail_WhereGetStringWouldThrow(string json)
    {
        Assert.False(RequestText.IsWellFormed(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xC0, 0xAF })] // overlong
    [InlineData(new byte[] { 0xE2, 0x82 })] // cut short
    public void InvalidUtf8_Fails(byte[] bad)
    {
        byte[] body = [.. "{\"a\":\""u8, .. bad, .. "\"}"u8];

        Assert.False(RequestText.IsWellFormed(body));
    }
}
