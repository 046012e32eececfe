using Serverless.Engine.Capacity;

namespace Serverless.Engine.Tests.Capacity;

public class TokenBucketTests
{
    private static readonly long Start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private static long At(double seconds) => Start + (long)(seconds * TimeSpan.TicksPerSecond);

    [Fact]
    public void NewBucket_HoldsOneSecond_AndRefillsAtItsRate()
    {
        var bucket = new TokenBucket(unitsPerSecond: 5, burstSeconds: 300, initialSeconds: 1, Start);
        for (var i = 0; i < 5; i++) Assert.True(bucket.TryTake(Start, 1000));
        Assert.False(bucket.TryTake(Start, 1000));
        Assert.False(bucket.TryTake(At(0.1), 1000));
        Assert.True(bucket.TryTake(At(0.2), 1000));
        Assert.Equal(0, bucket.Balance(At(0.2)), 3);
    }

    [Fact]
    public void UnusedCapacity_IsKeptUpToTheBurst()
    {
        var bucket = new TokenBucket(5, 300, 1, Start);
        Assert.Equal(5 * 300, bucket.Balance(At(1000)), 3);
        Assert.Equal(5 * 100, bucket.Balance(At(99)), 3);
        Assert.True(bucket.TryTake(At(1000), 1500 * 1000));
        Assert.False(bucket.TryTake(At(1000), 1000));
    }

    [Fact]
    public void ChargesAfterTheFact_LeaveDebt_ThatRefillsFirst()
    {
        var bucket = new TokenBucket(10, 300, 1, Start);
        bucket.Take(Start, 30_000); // 10 held, 30 charged: 20 owed
        Assert.Equal(-20, bucket.Balance(Start), 3);
        Assert.False(bucket.HasCapacity(Start));
        Assert.False(bucket.HasCapacity(At(2)));
        Assert.True(bucket.HasCapacity(At(2.01)));
        bucket.Take(At(3), -5000); // a release gives units back
        Assert.Equal(15, bucket.Balance(At(3)), 3);
    }

    [Fact]
    public void Reshape_KeepsWhatTheBucketHolds_CappedAtTheNewBurst()
    {
        var bucket = new TokenBucket(10, 300, 1, Start);
        Assert.Equal(1000, bucket.Balance(At(99)), 3);
        bucket.Reshape(At(99), 100, 300);
        Assert.Equal(1000, bucket.Balance(At(99)), 3);
        Assert.Equal(1100, bucket.Balance(At(100)), 3);
        bucket.Reshape(At(100), 1, 300);
        Assert.Equal(300, bucket.Balance(At(100)), 3);
    }

    [Fact]
    public void ConcurrentTakes_NeverHandOutMoreThanTheBucketHolds()
    {
        var bucket = new TokenBucket(1000, 1, 1, Start);
        var granted = 0;
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 1000; i++)
                if (bucket.TryTake(Start, 1000)) Interlocked.Increment(ref granted);
        });
        Assert.Equal(1000, granted);
    }
}
