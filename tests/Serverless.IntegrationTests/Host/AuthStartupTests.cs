using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Host;

/// <summary>
/// What an unconfigured or misconfigured <c>Auth</c> section means at start-up: the function app's own entry point
/// (functions/Program.cs, run as a process) refuses to start without a key; the local host accepts any credentials
/// and says so in its banner.
/// </summary>
public sealed class AuthStartupTests
{
    private const string Admin = "arn:aws:iam::000000000000:user/admin";

    [Fact]
    public async Task FunctionApp_WithoutKeys_RefusesToStart()
    {
        var result = await RunFunctionAppAsync(new Dictionary<string, string>());

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(
            "Configuration section 'Auth': the function app verifies SigV4 signatures and no access key is configured: set Auth__Keys__0__AccessKeyId, "
            + "Auth__Keys__0__SecretAccessKey, Auth__Keys__0__Principal and Auth__Keys__0__Policy (infra/bicep does), "
            + "or set Auth__Mode=AcceptAny explicitly to accept any credentials.",
            result.StandardError,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AcceptAny", false)]
    [InlineData(null, true)]
    public async Task FunctionApp_WithAcceptAnyOrAKey_PassesValidation(string? mode, bool withKey)
    {
        var settings = withKey ? Key(0, "AKIAADMIN") : new Dictionary<string, string>();
        if (mode is not null) settings["Auth__Mode"] = mode;

        var result = await RunFunctionAppAsync(settings);

        // Past the options validation, the worker dials the Functions host, which does not run here.
        Assert.DoesNotContain("OptionsValidationException", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Connection refused", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FunctionApp_WithAnUnresolvedKeyVaultReference_SaysWhy()
    {
        var settings = Key(0, "AKIAADMIN");
        settings["Auth__Keys__0__SecretAccessKey"] = "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/ddb-access-key-secret/)";

        var result = await RunFunctionAppAsync(settings);

        Assert.Contains("Auth__Keys__0__SecretAccessKey is an unresolved Key Vault reference", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LocalHost_WithoutKeys_AcceptsAnyCredentials_AndSaysSo()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = true });

        Assert.Contains("  auth: accepting any credentials (no keys configured), as DynamoDB Local does", host.Output, StringComparison.Ordinal);
        using var client = host.CreateClient();
        await client.ListTablesAsync();
    }

    [Fact]
    public async Task LocalHost_WithKeys_Verifies()
    {
        var settings = Key(0, "AKIAALICE");
        foreach (var (key, value) in Key(1, "AKIABOB")) settings[key] = value;

        await using var host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = true, Environment = settings });

        Assert.Contains("  auth: verifying SigV4 signatures (2 keys)", host.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Auth__Mode=Verify", "Auth__Mode is Verify but no access key is configured")]
    [InlineData("Auth__Keys__0__AccessKeyId=AKIAX;Auth__Keys__0__Principal=" + Admin, "Auth__Keys__0__SecretAccessKey is not set")]
    [InlineData("Auth__Keys__0__SecretAccessKey=s;Auth__Keys__0__Principal=" + Admin, "Auth__Keys__0__AccessKeyId is not set")]
    [InlineData("Auth__Keys__0__AccessKeyId=AKIAX;Auth__Keys__0__SecretAccessKey=s", "Auth__Keys__0__Principal is not set")]
    [InlineData("Auth__Keys__0__AccessKeyId=AKIAX;Auth__Keys__0__SecretAccessKey=s;Auth__Keys__0__Principal=alice",
        "Auth__Keys__0__Principal must be an IAM ARN such as arn:aws:iam::000000000000:user/alice, not 'alice'")]
    [InlineData("Auth__Keys__0__AccessKeyId=AKIAX;Auth__Keys__0__SecretAccessKey=s;Auth__Keys__0__Principal=" + Admin
        + ";Auth__Keys__1__AccessKeyId=AKIAX;Auth__Keys__1__SecretAccessKey=t;Auth__Keys__1__Principal=" + Admin,
        "Auth__Keys__0__AccessKeyId and Auth__Keys__1__AccessKeyId are both 'AKIAX': access key ids must be unique")]
    [InlineData("Auth__Keys__0__AccessKeyId=AKIAX;Auth__Keys__0__SecretAccessKey=s;Auth__Keys__0__Principal=" + Admin + ";Auth__Keys__0__Policy={\"Statement\":[]}",
        "Auth__Keys__0__Policy is not a valid IAM policy: Could not parse the policy: Statement is empty!")]
    [InlineData("Auth__Keys__0__AccessKeyId=AKIAX;Auth__Keys__0__SecretAccessKey=s;Auth__Keys__0__Principal=" + Admin + ";Auth__Keys__0__Policy={\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"dynamodb:*\"}}",
        "Auth__Keys__0__Policy is not a valid IAM policy: Missing required field Resource")]
    public async Task LocalHost_WithBadAuthSettings_RefusesToStart(string settings, string message)
    {
        var environment = settings.Split(';').Select(s => s.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

        var result = await HostProcess.RunToExitAsync(["--port", "0", "--in-memory"], environment: environment);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"error: could not start: Configuration section 'Auth': {message}", result.StandardError, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Key(int index, string accessKeyId) => new()
    {
        [$"Auth__Keys__{index}__AccessKeyId"] = accessKeyId,
        [$"Auth__Keys__{index}__SecretAccessKey"] = "secret-" + accessKeyId,
        [$"Auth__Keys__{index}__Principal"] = Admin,
        [$"Auth__Keys__{index}__Policy"] = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}""",
    };

    /// <summary>
    /// Runs the function app's entry point (functions/Program.cs) as the Functions host would, except that nothing
    /// listens at its gRPC endpoint: start-up either fails validation or gets as far as dialing the host.
    /// </summary>
    private static async Task<HostRunResult> RunFunctionAppAsync(IReadOnlyDictionary<string, string> settings)
    {
        var dll = Path.Combine(RepositoryLayout.Root, "functions", "bin", RepositoryLayout.Configuration, "net10.0", "Serverless.Functions.dll");
        Assert.True(File.Exists(dll), $"The function app is not built: {dll} is missing.");
        var environment = new Dictionary<string, string>
        {
            ["Functions__Worker__HostEndpoint"] = "http://127.0.0.1:9", // the discard port: nothing answers
            ["Functions__Worker__WorkerId"] = "test",
            ["Functions__Worker__RequestId"] = "test",
            ["Functions__Worker__GrpcMaxMessageLength"] = "2147483647",
            ["Engine__InMemory"] = "true",
        };
        foreach (var (key, value) in settings) environment[key] = value;
        return await HostProcess.RunToExitAsync([], environment: environment, dll: dll);
    }
}
