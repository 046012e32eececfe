using System.Globalization;
using System.Text;
using Serverless.Engine.Model;

namespace Serverless.Engine.Tests.Model;

public class KeyCodecTests
{
    private static AttrValue N(string text)
    {
        Assert.Equal(DynamoNumber.ParseStatus.Ok, DynamoNumber.TryParse(text, out var n));
        return AttrValue.FromN(n);
    }

    // Persisted: every stored key depends on these bytes. Never update these expectations.
    [Theory]
    [InlineData("S", "ab", "0161620001")]
    [InlineData("S", "", "010001")]
    [InlineData("S", "a\0b", "016100ff620001")]
    [InlineData("S", "é", "01c3a90001")]
    [InlineData("B", "00ff", "0300ffff0001")]
    [InlineData("N", "0", "0202")]
    [InlineData("N", "1", "0203820c01")]
    [InlineData("N", "12.5", "0203830e3401")]
    [InlineData("N", "-12.5", "02017cf1cbfe")]
    [InlineData("N", "1e-130", "0203000c01")]
    [InlineData("N", "-9.9999999999999999999999999999999999999e125", "020100" + "9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a" + "fe")]
    public void Component_GoldenBytes(string type, string value, string expectedHex)
    {
        var v = type switch
        {
            "S" => AttrValue.FromS(value),
            "B" => AttrValue.FromB(Convert.FromHexString(value)),
            _ => N(value),
        };
        var buffer = new byte[KeyCodec.ComponentLength(v)];
        Assert.Equal(buffer.Length, KeyCodec.EncodeComponent(v, buffer));
        Assert.Equal(expectedHex, ModelTestData.Hex(buffer));
        var pos = 0;
        Assert.Equal(v, KeyCodec.DecodeComponent(buffer, ref pos));
        Assert.Equal(buffer.Length, pos);
    }

    [Fact]
    public void Key_GoldenBytes_HashOnlyAndHashRange()
    {
        Assert.Equal("00000007" + "f1dd9272" + "017573657223310001", ModelTestData.Hex(KeyCodec.EncodeKey(7, AttrValue.FromS("user#1"), null)));
        Assert.Equal("01020304" + "ff4522ef" + "0203832c01" + "01323032342d30312d30310001", ModelTestData.Hex(KeyCodec.EncodeKey(0x01020304, N("42"), AttrValue.FromS("2024-01-01"))));
        Assert.Equal("00000001" + "5343d3e6" + "030100ff020001" + "02017ecbfe", ModelTestData.Hex(KeyCodec.EncodeKey(1, AttrValue.FromB([1, 0, 2]), N("-0.5"))));
    }

    [Theory]
    [InlineData("S", "a", 3912172799u)]
    [InlineData("S", "user#1", 0xf1dd9272u)]
    [InlineData("N", "42", 0xff4522efu)]
    [InlineData("B", "010002", 0x5343d3e6u)]
    public void PartitionHash_Golden(string type, string value, uint expected)
    {
        var v = type switch
        {
            "S" => AttrValue.FromS(value),
            "B" => AttrValue.FromB(Convert.FromHexString(value)),
            _ => N(value),
        };
        Assert.Equal(expected, KeyCodec.PartitionHash(v));
    }

    [Fact]
    public void DecodeKey_RoundTrips()
    {
        var key = KeyCodec.EncodeKey(99, AttrValue.FromS("h\0"), N("-1.5e-7"));
        KeyCodec.DecodeKey(key, out var table, out var hash, out var range);
        Assert.Equal(99u, table);
        Assert.Equal(AttrValue.FromS("h\0"), hash);
        Assert.Equal("-0.00000015", range!.N);
        KeyCodec.DecodeKey(KeyCodec.EncodeKey(3, AttrValue.FromB([]), null), out table, out hash, out range);
        Assert.Equal(3u, table);
        Assert.Empty(hash.B);
        Assert.Null(range);
    }

    [Fact]
    public void EncodeKey_SpanMatchesArrayAndPrefix()
    {
        var hash = AttrValue.FromS("p");
        var range = AttrValue.FromS("r");
        Span<byte> buffer = stackalloc byte[64];
        var n = KeyCodec.EncodeKey(5, hash, range, buffer);
        Assert.Equal(KeyCodec.EncodeKey(5, hash, range), buffer[..n].ToArray());
        Assert.Equal(KeyCodec.KeyLength(hash, range), n);
        Span<byte> prefix = stackalloc byte[64];
        var p = KeyCodec.EncodePartitionPrefix(5, hash, prefix);
        Assert.True(buffer[..n].StartsWith(prefix[..p]));
        Assert.Equal(KeyCodec.PartitionHash(hash), System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(buffer[4..]));
    }

    [Fact]
    public void UnterminatedComponent_IsPrefixOfExtensions()
    {
        Span<byte> prefix = stackalloc byte[32];
        var n = KeyCodec.EncodeComponent(AttrValue.FromS("ab\0"), prefix, terminated: false);
        foreach (var s in new[] { "ab\0", "ab\0\0", "ab\0c" })
        {
            var full = new byte[KeyCodec.ComponentLength(AttrValue.FromS(s))];
            KeyCodec.EncodeComponent(AttrValue.FromS(s), full);
            Assert.True(full.AsSpan().StartsWith(prefix[..n]), s);
        }
    }

    // ---- ordering properties ----

    private static int DynamoCompare(AttrValue a, AttrValue b) => a.Type switch
    {
        AttrType.S => Encoding.UTF8.GetBytes(a.S).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b.S)),
        AttrType.B => a.B.AsSpan().SequenceCompareTo(b.B),
        _ => a.AsNumber().CompareTo(b.AsNumber()),
    };

    private static byte[] Component(AttrValue v)
    {
        var buffer = new byte[KeyCodec.ComponentLength(v)];
        KeyCodec.EncodeComponent(v, buffer);
        return buffer;
    }

    private static readonly string[] Pieces = ["", "a", "b", "\0", "\u0001", "é", "日", "\uD83D\uDE00", "\u007F", "ab", "\uFFFF"];

    private static AttrValue RandomS(Random r)
    {
        var sb = new StringBuilder();
        var n = r.Next(0, 5);
        for (var i = 0; i < n; i++) sb.Append(Pieces[r.Next(Pieces.Length)]);
        return AttrValue.FromS(sb.ToString());
    }

    private static AttrValue RandomB(Random r)
    {
        var bytes = new byte[r.Next(0, 5)];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = (byte)(r.Next(4) switch { 0 => 0, 1 => 0xFF, 2 => 1, _ => r.Next(256) });
        return AttrValue.FromB(bytes);
    }

    private static AttrValue RandomN(Random r)
    {
        if (r.Next(10) == 0) return AttrValue.FromCanonicalN("0");
        var digits = r.Next(1, 39);
        var sb = new StringBuilder();
        if (r.Next(2) == 0) sb.Append('-');
        for (var i = 0; i < digits; i++) sb.Append((char)('0' + (i == 0 ? r.Next(1, 10) : r.Next(r.Next(3) == 0 ? 1 : 10))));
        var adjusted = r.Next(4) == 0 ? r.Next(-130, 126) : r.Next(-3, 4);
        sb.Append('e').Append((adjusted - (digits - 1)).ToString(CultureInfo.InvariantCulture));
        return N(sb.ToString());
    }

    [Theory]
    [InlineData("S")]
    [InlineData("B")]
    [InlineData("N")]
    public void ComponentOrder_MatchesDynamoOrder(string type)
    {
        var r = new Random(12345 + type[0]);
        Func<Random, AttrValue> gen = type switch { "S" => RandomS, "B" => RandomB, _ => RandomN };
        for (var i = 0; i < 5000; i++)
        {
            var a = gen(r);
            var b = r.Next(8) == 0 ? a : gen(r);
            var expected = Math.Sign(DynamoCompare(a, b));
            var actual = Math.Sign(Component(a).AsSpan().SequenceCompareTo(Component(b)));
            Assert.True(expected == actual, $"{a} vs {b}: expected {expected}, got {actual}");
            var pos = 0;
            Assert.Equal(a, KeyCodec.DecodeComponent(Component(a), ref pos));
        }
    }

    [Fact]
    public void NumberOrder_EdgeCases()
    {
        string[] sorted =
        [
            "-9.9999999999999999999999999999999999999e125", "-1e125", "-100", "-12.5", "-12", "-1.25", "-1.2", "-1",
            "-0.5", "-1e-130", "0", "1e-130", "0.00012", "0.5", "1", "1.2", "1.25", "12", "12.5", "100", "1e125",
            "9.9999999999999999999999999999999999999e125",
        ];
        for (var i = 1; i < sorted.Length; i++)
        {
            Assert.True(Component(N(sorted[i - 1])).AsSpan().SequenceCompareTo(Component(N(sorted[i]))) < 0, sorted[i - 1] + " < " + sorted[i]);
        }
    }

    [Fact]
    public void CompositeKeys_CompareComponentWise()
    {
        var r = new Random(777);
        Func<Random, AttrValue>[] gens = [RandomS, RandomB, RandomN];
        for (var i = 0; i < 3000; i++)
        {
            var hg = gens[i % 3];
            var rg = gens[(i / 3) % 3];
            var h1 = hg(r);
            var h2 = r.Next(3) == 0 ? h1 : hg(r);
            var r1 = rg(r);
            var r2 = rg(r);
            var expected = Math.Sign(DynamoCompare(h1, h2));
            if (expected == 0) expected = Math.Sign(DynamoCompare(r1, r2));
            var a = Component(h1).Concat(Component(r1)).ToArray();
            var b = Component(h2).Concat(Component(r2)).ToArray();
            Assert.True(expected == Math.Sign(a.AsSpan().SequenceCompareTo(b)), $"({h1},{r1}) vs ({h2},{r2})");
            if (h1.Equals(h2))
            {
                var k1 = KeyCodec.EncodeKey(1, h1, r1);
                var k2 = KeyCodec.EncodeKey(1, h2, r2);
                Assert.Equal(Math.Sign(DynamoCompare(r1, r2)), Math.Sign(k1.AsSpan().SequenceCompareTo(k2)));
            }
        }
    }
}
