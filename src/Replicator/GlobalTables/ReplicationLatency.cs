using System.Text.Json;

namespace Serverless.Replicator.GlobalTables;

/// <summary>
/// CloudWatch's ReplicationLatency for global tables, per receiving region and source region: the time from a write
/// in the source region to its application here (the write's own timestamp to the apply), over recent writes.
/// </summary>
public sealed class ReplicationLatency
{
    private const int Window = 4096;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Table, string Source, string Target), Series> _series = [];

    public void Record(string table, string source, string target, double milliseconds)
    {
        lock (_gate)
        {
            if (!_series.TryGetValue((table, source, target), out var s)) _series[(table, source, target)] = s = new Series();
            s.Add(milliseconds);
        }
    }

    /// <summary><c>[{"TableName","SourceRegion","ReceivingRegion","Count","AverageMilliseconds","P50Milliseconds","P99Milliseconds","MaximumMilliseconds"}]</c>.</summary>
    public void Write(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteStartArray();
        lock (_gate)
        {
            foreach (var ((table, source, target), s) in _series.OrderBy(p => p.Key))
            {
                var sorted = s.Recent();
                Array.Sort(sorted);
                w.WriteStartObject();
                w.WriteString("TableName", table);
                w.WriteString("SourceRegion", source);
                w.WriteString("ReceivingRegion", target);
                w.WriteNumber("Count", s.Count);
                w.WriteNumber("AverageMilliseconds", Math.Round(s.Sum / Math.Max(1, s.Count), 3));
                w.WriteNumber("P50Milliseconds", Percentile(sorted, 0.50));
                w.WriteNumber("P99Milliseconds", Percentile(sorted, 0.99));
                w.WriteNumber("MaximumMilliseconds", s.Max);
                w.WriteEndObject();
            }
        }

        w.WriteEndArray();
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private sealed class Series
    {
        private readonly double[] _recent = new double[Window];

        public long Count { get; private set; }

        public double Sum { get; private set; }

        public double Max { get; private set; }

        public void Add(double ms)
        {
            _recent[Count % Window] = ms;
            Count++;
            Sum += ms;
            if (ms > Max) Max = ms;
        }

        public double[] Recent() => _recent.AsSpan(0, (int)Math.Min(Count, Window)).ToArray();
    }
}
