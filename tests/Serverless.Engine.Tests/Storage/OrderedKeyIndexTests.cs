using Serverless.Engine.Storage;

namespace Serverless.Engine.Tests.Storage;

public sealed class OrderedKeyIndexTests
{
    private static byte[] K(int i) => [(byte)(i >> 24), (byte)(i >> 16), (byte)(i >> 8), (byte)i];

    internal static List<int> ReadAll(OrderedKeyIndex index, byte[] lo, bool loInc, byte[] hi, bool hiInc, bool forward, int batch)
    {
        var result = new List<int>();
        var keys = new List<byte[]>();
        while (true)
        {
            keys.Clear();
            var n = index.Read(lo, loInc, hi, hiInc, forward, batch, keys);
            result.AddRange(keys.Select(k => (k[0] << 24) | (k[1] << 16) | (k[2] << 8) | k[3]));
            if (n < batch) return result;
            if (forward)
            {
                lo = keys[^1];
                loInc = false;
            }
            else
            {
                hi = keys[^1];
                hiInc = false;
            }
        }
    }

    [Fact]
    public void AddRemove_KeepsSetSemanticsAndCount()
    {
        var index = new OrderedKeyIndex();
        Assert.True(index.Add(K(5)));
        Assert.False(index.Add(K(5)));
        Assert.True(index.Contains(K(5)));
        Assert.False(index.Remove(K(6)));
        Assert.True(index.Remove(K(5)));
        Assert.False(index.Contains(K(5)));
        Assert.Equal(0, index.Count);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 7)]
    [InlineData(false, 3)]
    [InlineData(false, 1000)]
    public void Read_MatchesSortedReference_ForBoundsAndDirections(bool forward, int batch)
    {
        var index = new OrderedKeyIndex();
        var rnd = new Random(42);
        var reference = new SortedSet<int>();
        for (var i = 0; i < 5000; i++)
        {
            var v = rnd.Next(0, 20000) * 2; // even numbers, so odd bounds fall between keys
            index.Add(K(v));
            reference.Add(v);
        }

        foreach (var v in reference.Where((_, i) => i % 3 == 0).ToList())
        {
            index.Remove(K(v));
            reference.Remove(v);
        }

        Assert.Equal(reference.Count, index.Count);
        foreach (var (lo, hi) in new[] { (0, 40000), (100, 100), (101, 5001), (2000, 2002), (39999, 50000), (-1, -1) })
        {
            foreach (var loInc in new[] { true, false })
            {
                foreach (var hiInc in new[] { true, false })
                {
                    var expected = reference.Where(x => (loInc ? x >= lo : x > lo) && (hiInc ? x <= hi : x < hi)).ToList();
                    if (!forward) expected.Reverse();
                    var loKey = lo < 0 ? Array.Empty<byte>() : K(lo);
                    var hiKey = hi < 0 ? Array.Empty<byte>() : K(hi);
                    Assert.Equal(expected, ReadAll(index, loKey, loInc, hiKey, hiInc, forward, batch));
                }
            }
        }
    }

    [Fact]
    public void Read_VariableLengthKeys_BytewiseOrder()
    {
        var index = new OrderedKeyIndex();
        byte[][] keys = [[1], [1, 0], [1, 0, 0], [1, 255], [2], [0, 255, 255]];
        foreach (var k in keys) index.Add(k);
        var output = new List<byte[]>();
        index.Read([1], true, [1, 255], false, true, 100, output);
        Assert.Equal([[1], [1, 0], [1, 0, 0]], output);
    }

    [Fact]
    public async Task ConcurrentWritersAndReaders_EndConsistent()
    {
        var index = new OrderedKeyIndex();
        var writers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 5000; i++)
            {
                index.Add(K((i * 4) + t));
                if (i % 2 == 1) index.Remove(K(((i - 1) * 4) + t));
            }
        })).ToArray();
        var reader = Task.Run(() =>
        {
            while (!writers.All(w => w.IsCompleted))
            {
                var seen = ReadAll(index, [], true, [255, 255, 255, 255], true, true, 64);
                for (var i = 1; i < seen.Count; i++) Assert.True(seen[i - 1] < seen[i]);
            }
        });
        await Task.WhenAll(writers);
        await reader;
        Assert.Equal(10000, index.Count);
        Assert.Equal(10000, ReadAll(index, [], true, [255, 255, 255, 255], true, true, 333).Count);
    }
}
