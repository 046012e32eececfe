using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Capacity;

/// <summary>
/// UpdateTable's limit on provisioned-throughput decreases, as AWS has it: four at any time in a UTC day, then one
/// more each hour after the last accepted one (up to 27 a day); the count starts again at 00:00 UTC.
/// </summary>
internal static class DecreaseLimits
{
    public const int FreeDecreasesPerDay = 4;

    /// <summary>Decreases made so far in the UTC day of <paramref name="nowUtc"/>.</summary>
    public static int DecreasesToday(TableDefinition d, DateTime nowUtc) =>
        d.LastDecreaseDateTime is { } last && FromSeconds(last).Date == nowUtc.Date ? d.NumberOfDecreasesToday : 0;

    /// <summary>Throws LimitExceededException when a decrease now would exceed the limit.</summary>
    public static void Check(TableDefinition d, DateTime nowUtc)
    {
        var today = DecreasesToday(d, nowUtc);
        if (today < FreeDecreasesPerDay || d.LastDecreaseDateTime is not { } seconds) return;
        var last = FromSeconds(seconds);
        var next = last.AddHours(1);
        var midnight = nowUtc.Date.AddDays(1);
        if (next > midnight) next = midnight;
        if (nowUtc < next) throw DynamoErrors.DecreaseLimitExceeded(today, last, next);
    }

    private static DateTime FromSeconds(double seconds) => DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000)).UtcDateTime;
}
