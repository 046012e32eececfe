namespace Serverless.Engine.Capacity;

/// <summary>
/// A lock-free token bucket held in one <see cref="long"/>: the instant (clock ticks) at which the bucket was, or
/// will be, empty. The balance at <c>now</c> is <c>(now - emptyAt) × rate</c>, capped at the burst; a balance
/// below zero (emptyAt in the future) is debt from requests charged after they ran. Taking units moves emptyAt
/// forward by their time at the refill rate, with one compare-and-swap: no lock and no torn (balance, timestamp)
/// pair. This is the virtual-scheduling form of a token bucket (GCRA).
/// </summary>
internal sealed class TokenBucket
{
    private long _emptyAt;
    private Shape _shape;

    /// <param name="unitsPerSecond">Refill rate in capacity units per second (positive).</param>
    /// <param name="burstSeconds">How many seconds of refill the bucket holds at most.</param>
    /// <param name="initialSeconds">How many seconds of refill it holds now.</param>
    public TokenBucket(double unitsPerSecond, double burstSeconds, double initialSeconds, long now)
    {
        _shape = new Shape(unitsPerSecond, burstSeconds);
        _emptyAt = now - (long)(Math.Min(initialSeconds, burstSeconds) * TimeSpan.TicksPerSecond);
    }

    public double UnitsPerSecond => Volatile.Read(ref _shape).UnitsPerSecond;

    public double BurstSeconds => Volatile.Read(ref _shape).BurstSeconds;

    /// <summary>Takes <paramref name="milliUnits"/> if the bucket holds them; false (taking nothing) otherwise.</summary>
    public bool TryTake(long now, long milliUnits)
    {
        var shape = Volatile.Read(ref _shape);
        var cost = (long)(milliUnits * shape.TicksPerMilli);
        var floor = now - shape.BurstTicks;
        while (true)
        {
            var emptyAt = Volatile.Read(ref _emptyAt);
            var next = (emptyAt < floor ? floor : emptyAt) + cost;
            if (next > now) return false;
            if (Interlocked.CompareExchange(ref _emptyAt, next, emptyAt) == emptyAt) return true;
        }
    }

    /// <summary>Takes (or, negative, gives back) units unconditionally: the balance may go below zero.</summary>
    public void Take(long now, long milliUnits)
    {
        if (milliUnits == 0) return;
        var shape = Volatile.Read(ref _shape);
        var cost = (long)(milliUnits * shape.TicksPerMilli);
        var floor = now - shape.BurstTicks;
        while (true)
        {
            var emptyAt = Volatile.Read(ref _emptyAt);
            var next = (emptyAt < floor ? floor : emptyAt) + cost;
            if (Interlocked.CompareExchange(ref _emptyAt, next, emptyAt) == emptyAt) return;
        }
    }

    /// <summary>Whether any capacity is left (the balance is above zero).</summary>
    public bool HasCapacity(long now) => Volatile.Read(ref _emptyAt) < now;

    /// <summary>The balance in capacity units at <paramref name="now"/> (negative while in debt).</summary>
    public double Balance(long now)
    {
        var shape = Volatile.Read(ref _shape);
        var emptyAt = Volatile.Read(ref _emptyAt);
        var floor = now - shape.BurstTicks;
        return (now - (emptyAt < floor ? floor : emptyAt)) / shape.TicksPerMilli / 1000.0;
    }

    /// <summary>
    /// Changes the rate and burst (UpdateTable), keeping the units the bucket holds (capped at the new burst) or the
    /// debt it owes.
    /// </summary>
    public void Reshape(long now, double unitsPerSecond, double burstSeconds)
    {
        var next = new Shape(unitsPerSecond, burstSeconds);
        lock (this)
        {
            while (true)
            {
                var emptyAt = Volatile.Read(ref _emptyAt);
                var balanceMilli = Math.Min(Balance(now) * 1000, unitsPerSecond * burstSeconds * 1000);
                var moved = now - (long)(balanceMilli * next.TicksPerMilli);
                if (Interlocked.CompareExchange(ref _emptyAt, moved, emptyAt) == emptyAt) break;
            }

            Volatile.Write(ref _shape, next);
        }
    }

    private sealed class Shape(double unitsPerSecond, double burstSeconds)
    {
        public double UnitsPerSecond { get; } = unitsPerSecond;

        public double BurstSeconds { get; } = burstSeconds;

        /// <summary>Clock ticks one thousandth of a unit takes to refill.</summary>
        public double TicksPerMilli { get; } = TimeSpan.TicksPerSecond / (unitsPerSecond * 1000.0);

        public long BurstTicks { get; } = (long)(burstSeconds * TimeSpan.TicksPerSecond);
    }
}
