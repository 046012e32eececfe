using System.Diagnostics.Tracing;

namespace Serverless.Benchmarks;

/// <summary>
/// Allocation per request of one <see cref="RequestPathBenchmarks"/> operation, exactly (GC.GetTotalAllocatedBytes),
/// and which types are allocated, sampled by the runtime's GC AllocationTick events (one per ~100 KB allocated):
/// <c>... -- alloc get|put|update|query [steps]</c>. A quick loop for cutting allocations; BenchmarkDotNet's
/// MemoryDiagnoser gives the reported figures.
/// </summary>
internal static class AllocProbe
{
    public static async Task RunAsync(string[] args)
    {
        var op = args.Length > 1 ? args[1] : "get";
        var steps = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 200;
        var bench = new RequestPathBenchmarks();
        await bench.SetupAsync();
        var step = bench.Step(op);
        for (var i = 0; i < 20; i++) await step();

        using var listener = new TickListener();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < steps; i++) await step();
        var after = GC.GetTotalAllocatedBytes(precise: true);
        var requests = (double)steps * RequestPathBenchmarks.RequestsPerStep;
        Console.WriteLine($"{op}: {(after - before) / requests:F1} B/request over {requests} requests");
        long total = 0;
        foreach (var v in listener.ByType.Values) total += v;
        foreach (var (type, bytes) in listener.ByType.OrderByDescending(p => p.Value).Take(25))
            Console.WriteLine($"  {100.0 * bytes / Math.Max(1, total),5:F1}%  ~{(after - before) * (double)bytes / Math.Max(1, total) / requests,7:F1} B/req  {type}");
        await bench.CleanupAsync();
    }

    private sealed class TickListener : EventListener
    {
        public readonly Dictionary<string, long> ByType = [];

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName == null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload == null) return;
            var type = e.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
            var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
            lock (ByType) ByType[type] = ByType.GetValueOrDefault(type) + amount;
        }
    }
}
