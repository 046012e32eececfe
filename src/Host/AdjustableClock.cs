namespace Serverless.Host;

/// <summary>The system clock plus an offset that only grows; enabled by <c>LocalHost:ClockControl</c> for tests.</summary>
internal sealed class AdjustableClock : TimeProvider
{
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, Math.Max(0, by.Ticks));

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
}
