using System.Diagnostics;

namespace Serverless.Benchmarks;

/// <summary>
/// A plain timed loop over <see cref="ItemBenchmarks"/>, for attaching a profiler and for quick checks while
/// iterating: prints ops/s once a second.
/// </summary>
internal static class Loop
{
    public static async Task RunAsync(string[] args)
    {
        var op = args.Length > 1 ? args[1] : "get";
        var seconds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10;
        var durable = args.Length <= 3 || bool.Parse(args[3]);
        var bench = new ItemBenchmarks { Durable = durable };
        await bench.SetupAsync();
        Func<Task> step = op switch
        {
            "put" => bench.PutItem,
            "get" => bench.GetItem,
            _ => throw new ArgumentException("op must be put or get"),
        };
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            var sw = Stopwatch.StartNew();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var n = 0;
            while (sw.ElapsedMilliseconds < 1000)
            {
                await step();
                n += 1000;
            }

            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMicroseconds / n;
            Console.WriteLine($"{op} durable={durable}: {n / sw.Elapsed.TotalSeconds:F0} ops/s, process CPU {cpu:F2} us/op ({1e6 / cpu:F0} ops per CPU-second)");
        }

        await bench.CleanupAsync();
    }
}
