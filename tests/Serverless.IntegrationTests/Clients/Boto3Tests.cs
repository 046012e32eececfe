using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Clients;

/// <summary>
/// Runs <c>boto3_smoke.py</c> against the shared host. boto3 checks <c>x-amz-crc32</c>, error shapes and types.
/// </summary>
[Collection(SharedHostCollection.Name)]
public sealed class Boto3Tests(SharedHostFixture fixture)
{
    [Fact]
    public async Task Boto3Smoke_PassesAgainstTheHost()
    {
        var output = await PythonScript.RunAsync("boto3_smoke.py", fixture.Host);
        Assert.Contains("OK", output);
    }

    /// <summary><c>partiql_boto3.py</c>: PartiQL statements of each kind, batches and transactions through boto3.</summary>
    [Fact]
    public async Task Boto3PartiQL_PassesAgainstTheHost()
    {
        var output = await PythonScript.RunAsync("partiql_boto3.py", fixture.Host);
        Assert.Contains("OK", output);
    }
}
