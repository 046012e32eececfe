using System.Diagnostics;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.FirstHour;

/// <summary>
/// Runs a bash script as a new user's fresh shell would: no AWS_* variables, no ~/.aws (HOME is an empty temporary
/// folder), only PATH kept (the image's <c>aws</c> CLI v1 is on it), plus what the caller sets.
/// </summary>
internal static class FreshShell
{
    public static async Task<HostRunResult> RunAsync(string script, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var home = Directory.CreateTempSubdirectory("fresh-home-").FullName;
        try
        {
            var start = new ProcessStartInfo("/bin/bash", ["--noprofile", "--norc", "-c", script]) { WorkingDirectory = workingDirectory };
            start.Environment.Clear();
            start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
            start.Environment["HOME"] = home;
            start.Environment["LANG"] = "C.UTF-8";
            start.Environment["AWS_EC2_METADATA_DISABLED"] = "true"; // no instance-metadata probe for credentials
            foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
            return await ProcessRunner.RunAsync(start, timeout ?? TimeSpan.FromMinutes(3));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
