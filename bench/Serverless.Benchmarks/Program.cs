using BenchmarkDotNet.Running;
using Serverless.Benchmarks;

// Usage: dotnet run -c Release --project bench/Serverless.Benchmarks -- --filter '*'
// Quick loop for profilers (dotnet-trace): ... -- loop put|get [seconds] [durable=true]
if (args.Length > 0 && args[0] == "loop")
{
    await Loop.RunAsync(args);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
