using System.Diagnostics;

namespace Serverless.IntegrationTests.Infrastructure;

/// <summary>Runs a program to completion with its output captured, killing it (and failing) if it outlasts a deadline.</summary>
public static class ProcessRunner
{
    /// <summary>Starts <paramref name="start"/> (its output is redirected here) and waits for it to exit.</summary>
    public static async Task<HostRunResult> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout}:\n{await stdout}{await stderr}");
        }

        return new HostRunResult(process.ExitCode, await stdout, await stderr);
    }
}
