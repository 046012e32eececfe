using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Exports;

/// <summary>
/// Exports (full Ion, incremental) and a CSV import through boto3 with the image's python3 (botocore 1.43 knows
/// incremental exports and ImportTable): <c>Clients/exports_boto3.py</c>.
/// </summary>
public sealed class ExportBoto3Tests
{
    [Fact]
    public async Task ExportsAndImports_ThroughBoto3()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["LocalHost__ClockControl"] = "true" },
        });
        var output = await PythonScript.RunWithPathPythonAsync("exports_boto3.py", host, new Dictionary<string, string>
        {
            ["S3_ROOT"] = Path.Combine(host.DataDirectory, "s3"),
        });
        Assert.Contains("test_incremental_export", output);
        Assert.Contains("test_import_csv", output);
        Assert.Contains("OK", output);
    }
}
