using System.Diagnostics;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Clients;

/// <summary>
/// Runs <c>boto3_smoke.py</c> with Debian's <c>/usr/bin/python3</c> and <c>python3-boto3</c> (installed by
/// <c>.ci/run</c>) against the shared host. boto3 checks <c>x-amz-crc32</c>, error shapes and types.
/// </summary>
[Collection(SharedHostCollection.Name)]
public sealed class Boto3Tests(SharedHostFixture fixture)
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task Boto3Smoke_PassesAgainstTheHost()
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: run .ci/run, which installs python3-boto3.");
        var script = Path.Combine(RepositoryLayout.Root, "tests", "Serverless.IntegrationTests", "Clients", "boto3_smoke.py");
        var start = new ProcessStartInfo(Python, [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DDB_ENDPOINT"] = fixture.Host.ServiceUrl;
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, "boto3 smoke test failed:\n" + output);
        Assert.Contains("OK", output);
        Assert.DoesNotContain("skipped", output);
    }
}
