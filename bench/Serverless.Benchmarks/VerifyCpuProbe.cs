using System.Runtime.InteropServices;

namespace Serverless.Benchmarks;

/// <summary>
/// <see cref="VerifyStepsBenchmarks"/>' steps timed by the calling thread's CPU clock rather than the wall clock:
/// <c>... -- verify-cpu [rounds]</c>. On a shared, overloaded machine a wall-clock benchmark mostly measures the
/// wait for a core; the thread's own CPU time does not include it. The steps are interleaved round by round, and
/// each is reported as the median and minimum CPU ns per operation over the rounds, with bytes allocated per operation.
/// </summary>
internal static class VerifyCpuProbe
{
    private const int Ops = 1000;

    public static async Task RunAsync(string[] args)
    {
        var rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30;
        var bench = new VerifyStepsBenchmarks();
        await bench.SetupAsync();
        (string Name, Action Run)[] steps =
        [
            ("BodyHash", () => bench.BodyHash()),
            ("CanonicalRequestHash", () => bench.CanonicalRequestHash()),
            ("FinalHmac", () => bench.FinalHmac()),
            ("SigningKeyUncached", () => bench.SigningKeyUncached()),
            ("Authenticate", () => bench.Authenticate()),
            ("AuthenticateAndAuthorize", () => bench.AuthenticateAndAuthorize()),
            ("GetItemAcceptAny", () => Wait(bench.GetItemAcceptAny())),
            ("GetItemVerify", () => Wait(bench.GetItemVerify())),
        ];
        var cpu = new double[steps.Length][];
        var alloc = new double[steps.Length];
        for (var s = 0; s < steps.Length; s++)
        {
            cpu[s] = new double[rounds];
            for (var w = 0; w < 20; w++) steps[s].Run(); // warm-up, past tiered compilation
        }

        for (var r = 0; r < rounds; r++)
        {
            for (var s = 0; s < steps.Length; s++)
            {
                var a0 = GC.GetAllocatedBytesForCurrentThread();
                var t0 = ThreadCpuNs();
                steps[s].Run();
                var t1 = ThreadCpuNs();
                var a1 = GC.GetAllocatedBytesForCurrentThread();
                cpu[s][r] = (t1 - t0) / (double)Ops;
                alloc[s] = (a1 - a0) / (double)Ops;
            }
        }

        Console.WriteLine($"{"step",-26} {"median ns/op",13} {"min ns/op",10} {"B/op",7}   (thread CPU time, {rounds} rounds of {Ops}; loadavg {File.ReadAllText("/proc/loadavg").Trim()})");
        for (var s = 0; s < steps.Length; s++)
        {
            Array.Sort(cpu[s]);
            Console.WriteLine($"{steps[s].Name,-26} {cpu[s][rounds / 2],13:F0} {cpu[s][0],10:F0} {alloc[s],7:F1}");
        }

        await bench.CleanupAsync();
    }

    /// <summary>The steps run in memory and complete synchronously; anything else would be timed on the wrong thread.</summary>
    private static void Wait(Task task)
    {
        if (!task.IsCompleted) throw new InvalidOperationException("an in-memory request went asynchronous");
        task.GetAwaiter().GetResult();
    }

    private static long ThreadCpuNs()
    {
        if (clock_gettime(ClockThreadCpuTime, out var ts) != 0) throw new InvalidOperationException("clock_gettime failed");
        return ts.Seconds * 1_000_000_000 + ts.Nanoseconds;
    }

    private const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int clock_gettime(int clock, out TimeSpec time);
}
