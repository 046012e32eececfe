using BenchmarkDotNet.Running;
using Serverless.Benchmarks;

// Usage: dotnet run -c Release --project bench/Serverless.Benchmarks -- --filter '*'
// Quick loop for profilers (dotnet-trace): ... -- loop put|get [seconds] [durable=true]
if (args.Length > 0 && args[0] == "loop")
{
    await Loop.RunAsync(args);
    return;
}

// Allocation per request and the types allocated, for one request-path operation: ... -- alloc get|put|update|query [steps]
if (args.Length > 0 && args[0] == "alloc")
{
    await AllocProbe.RunAsync(args);
    return;
}

// Cache hits against plain reads, interleaved round by round (robust to a machine whose load changes): ... -- cache-interleaved [rounds]
if (args.Length > 0 && args[0] == "cache-interleaved")
{
    await CacheBenchmarks.InterleavedAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30);
    return;
}

// The Verify path's steps timed by the thread's CPU clock, robust to a loaded machine: ... -- verify-cpu [rounds]
if (args.Length > 0 && args[0] == "verify-cpu")
{
    await VerifyCpuProbe.RunAsync(args);
    return;
}

// FASTER snapshot against fold-over checkpoints, time and bytes: ... -- checkpoints [items] [storeMiB] [rounds]
if (args.Length > 0 && args[0] == "checkpoints")
{
    await CheckpointKinds.RunAsync(args);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
