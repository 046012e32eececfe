using System.Diagnostics;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Clients;

/// <summary>
/// Runs a test script from this folder with Debian's <c>/usr/bin/python3</c> and <c>python3-boto3</c> (installed by
/// <c>.ci/run</c>) against a host, and fails with the script's output unless it exits 0.
/// </summary>
internal static class PythonScript
{
    private const string Python = "/usr/bin/python3";

    /// <param name="environment">Extra variables for the script; they override <c>DDB_ENDPOINT</c> too.</param>
    public static Task<string> RunAsync(string script, HostProcess host, IReadOnlyDictionary<string, string>? environment = null) =>
        RunAsync(script, host, Python, environment);

    /// <summary>
    /// Runs <paramref name="script"/> with the first <c>python3</c> on PATH, for APIs Debian's botocore predates
    /// (resource policies need botocore 1.34.70 or later), with extra environment variables.
    /// </summary>
    public static Task<string> RunWithPathPythonAsync(string script, HostProcess host, IReadOnlyDictionary<string, string> environment)
    {
        var python = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, "python3")).FirstOrDefault(File.Exists) ?? Python;
        return RunAsync(script, host, python, environment);
    }

    private static async Task<string> RunAsync(string script, HostProcess host, string python, IReadOnlyDictionary<string, string>? environment)
    {
        Assert.True(File.Exists(python), $"{python} is missing: run .ci/run, which installs python3-boto3.");
        var path = Path.Combine(RepositoryLayout.Root, "tests", "Serverless.IntegrationTests", "Clients", script);
        var start = new ProcessStartInfo(python, [path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DDB_ENDPOINT"] = host.ServiceUrl;
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"{script} failed:\n" + output);
        Assert.DoesNotContain("skipped", output);
        return output;
    }
}
