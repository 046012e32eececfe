using System.Text;
using Serverless.Engine.Cache;

namespace Serverless.Engine.Tests.Cache;

/// <summary>One cluster's cache on its own: hits, invalidation, write-through, the fill race and LRU accounting.</summary>
public class ClusterCacheTests
{
    private static readonly CacheSettings Invalidating = new(300_000, 300_000, true);
    private static readonly CacheSettings DaxLike = new(300_000, 300_000, false);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static FillStamp FreshStamp() => new(new long[4096], 0, new long[256], 0);

    [Fact]
    public void FilledAnswer_IsServedForTheSameBytes_Only()
    {
        var cache = new ClusterCache("c", 1 << 20, Invalidating);
        cache.FillItem(B("k1"), 1, FreshStamp(), B("{\"get\":1}"), B("{\"Item\":{}}"), CapacityMode.None, "t", true, 1000);
        Assert.True(cache.TryServe(CachedOp.GetItem, B("{\"get\":1}"), 1001, out var answer));
        Assert.Equal("{\"Item\":{}}", Encoding.UTF8.GetString(answer));
        Assert.False(cache.TryServe(CachedOp.GetItem, B("{\"get\": 1}"), 1001, out _));
        Assert.Equal(1, cache.Hits);

        // The same bytes sent to another operation are not its answer.
        Assert.False(cache.TryServe(CachedOp.Query, B("{\"get\":1}"), 1001, out _));
        cache.FillQuery(CachedOp.Scan, 1, cache.QueryGeneration(1), B("{\"TableName\":\"t\"}"), B("{\"Count\":0}"), 0);
        Assert.False(cache.TryServe(CachedOp.Query, B("{\"TableName\":\"t\"}"), 0, out _));
        Assert.True(cache.TryServe(CachedOp.Scan, B("{\"TableName\":\"t\"}"), 0, out _));
    }

    [Fact]
    public void ChangeNotThroughTheCluster_Invalidates_OrNot_ByTheParameter()
    {
        var invalidating = new ClusterCache("a", 1 << 20, Invalidating);
        var daxLike = new ClusterCache("b", 1 << 20, DaxLike);
        foreach (var c in new[] { invalidating, daxLike })
        {
            c.FillItem(B("k1"), 1, FreshStamp(), B("req"), B("{}"), CapacityMode.None, "t", true, 0);
            c.FillQuery(CachedOp.Query, 1, c.QueryGeneration(1), B("query"), B("{\"Count\":0}"), 0);
            c.ItemChanged(1, B("k1"), true, B("x"), throughThis: false, 0);
        }

        Assert.False(invalidating.TryServe(CachedOp.GetItem, B("req"), 1, out _));
        Assert.False(invalidating.TryServe(CachedOp.Query, B("query"), 1, out _));
        Assert.True(daxLike.TryServe(CachedOp.GetItem, B("req"), 1, out _));
        Assert.True(daxLike.TryServe(CachedOp.Query, B("query"), 1, out _));
    }

    [Fact]
    public void ReadThatRacedAWrite_IsNotCached()
    {
        var keys = new long[4096];
        var tables = new long[256];
        var cache = new ClusterCache("c", 1 << 20, Invalidating);
        var stamp = new FillStamp(keys, 7, tables, 1);
        Interlocked.Increment(ref keys[7]); // the write path bumps the key's slot after the read began
        cache.FillItem(B("k"), 1, stamp, B("req"), B("{}"), CapacityMode.None, "t", true, 0);
        Assert.False(cache.TryServe(CachedOp.GetItem, B("req"), 1, out _));
    }

    [Fact]
    public void Expiry_FollowsTheRecordTtl()
    {
        var cache = new ClusterCache("c", 1 << 20, new CacheSettings(60_000, 0, true));
        cache.FillItem(B("k"), 1, FreshStamp(), B("req"), B("{}"), CapacityMode.None, "t", true, 1_000);
        Assert.True(cache.TryServe(CachedOp.GetItem, B("req"), 60_999, out _));
        Assert.False(cache.TryServe(CachedOp.GetItem, B("req"), 61_000, out _));

        // A query TTL of 0: kept until evicted or invalidated.
        cache.FillQuery(CachedOp.Query, 2, cache.QueryGeneration(2), B("q"), B("{}"), 0);
        Assert.True(cache.TryServe(CachedOp.Query, B("q"), long.MaxValue / 2, out _));
    }

    [Fact]
    public void Lru_KeepsWithinItsMemory_AndEvictsTheColdest()
    {
        var cache = new ClusterCache("c", 4096, Invalidating);
        var answer = new byte[900];
        for (var i = 0; i < 10; i++)
        {
            cache.FillQuery(CachedOp.Query, 1, cache.QueryGeneration(1), B($"q{i}"), answer, 0);
            Assert.True(cache.TryServe(CachedOp.Query, B("q0"), 0, out _)); // q0 stays hot
        }

        Assert.True(cache.Size().Bytes <= 4096);
        Assert.True(cache.Evictions >= 6, $"evictions: {cache.Evictions}");
        Assert.True(cache.TryServe(CachedOp.Query, B("q0"), 0, out _));
        Assert.False(cache.TryServe(CachedOp.Query, B("q1"), 0, out _));
    }
}
