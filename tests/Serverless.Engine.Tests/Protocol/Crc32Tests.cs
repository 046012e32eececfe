using System.Text;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Tests.Protocol;

public class Crc32Tests
{
    [Fact]
    public void Compute_CheckValue_MatchesTheStandard()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32.Compute([]));
    }

    [Fact]
    public void Compute_EveryLengthAndSplit_MatchesBitwiseDefinition()
    {
        var data = new byte[300];
        new Random(5).NextBytes(data);
        for (var length = 0; length <= data.Length; length += 7)
        {
            var span = data.AsSpan(0, length);
            var expected = Bitwise(span);
            Assert.Equal(expected, Crc32.Compute(span));
            var split = length / 3;
            Assert.Equal(expected, Crc32.Append(Crc32.Compute(span[..split]), span[split..]));
        }
    }

    private static uint Bitwise(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            c ^= b;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }

        return ~c;
    }
}
