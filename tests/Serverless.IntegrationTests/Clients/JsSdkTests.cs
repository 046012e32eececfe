using System.Diagnostics;
using System.Text.RegularExpressions;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Clients;

/// <summary>
/// The AWS SDK for JavaScript v3, unchanged, against the shared host: <c>js/smoke.test.cjs</c> run by node's test
/// runner covers tables, items, the DocumentClient's marshalling, query and scan paginators, batches, transactions,
/// error names and the Streams client. The SDK packages are pinned here and installed into <c>.tools/aws-sdk-js</c>.
/// </summary>
[Collection(SharedHostCollection.Name)]
public sealed class JsSdkTests(SharedHostFixture fixture)
{
    /// <summary>Exact versions (checked with <c>npm view</c>, 2026-12): the newest served, and lib-dynamodb's peer is the same client.</summary>
    public static readonly IReadOnlyDictionary<string, string> Packages = new Dictionary<string, string>
    {
        ["@aws-sdk/client-dynamodb"] = "3.1169.0",
        ["@aws-sdk/lib-dynamodb"] = "3.1169.0",
        ["@aws-sdk/client-dynamodb-streams"] = "3.1141.0",
    };

    /// <summary>The suite's tests; the run must report exactly this many passed.</summary>
    private const int SuiteTests = 8;

    [Fact]
    public async Task JsSdkV3Smoke_PassesAgainstTheHost()
    {
        var modules = await NpmTools.EnsureInstalledAsync("aws-sdk-js", Packages);
        var script = Path.Combine(RepositoryLayout.Root, "tests", "Serverless.IntegrationTests", "Clients", "js", "smoke.test.cjs");
        var start = new ProcessStartInfo("node", ["--test", "--test-reporter=tap", script]) { WorkingDirectory = Path.GetDirectoryName(script)! };
        start.Environment["NODE_PATH"] = modules;
        start.Environment["DDB_ENDPOINT"] = fixture.Host.ServiceUrl;
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList()) start.Environment.Remove(key);

        var run = await ProcessRunner.RunAsync(start, TimeSpan.FromMinutes(3));
        var output = run.StandardOutput + run.StandardError;

        Assert.True(run.ExitCode == 0, "smoke.test.cjs failed:\n" + output);
        Assert.Equal(SuiteTests.ToString(System.Globalization.CultureInfo.InvariantCulture), Summary(output, "pass"));
        Assert.Equal("0", Summary(output, "fail"));
        Assert.Equal("0", Summary(output, "skipped"));
    }

    private static string Summary(string tap, string word) =>
        Regex.Match(tap, $@"^# {word} (\d+)$", RegexOptions.Multiline) is { Success: true } m ? m.Groups[1].Value : $"no '# {word}' line in:\n{tap}";
}
