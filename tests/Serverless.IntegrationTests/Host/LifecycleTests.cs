using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Host;

/// <summary>Command line, graceful stop, crash and restart. Each test owns its host.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task Help_PrintsUsage_AndExitsZero()
    {
        var result = await HostProcess.RunToExitAsync(["--help"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("usage:", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("--data-dir", result.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--no-such-flag")]
    [InlineData("--port", "not-a-number")]
    [InlineData("--port")]
    public async Task BadArguments_PrintUsageOnStderr_AndExitTwo(params string[] arguments)
    {
        var result = await HostProcess.RunToExitAsync(arguments);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("usage:", result.StandardError, StringComparison.Ordinal);
        Assert.Equal("", result.StandardOutput);
    }

    [Fact]
    public async Task Start_PrintsEndpointAndExampleCommand()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = true });

        Assert.Contains($"aws dynamodb list-tables --endpoint-url {host.ServiceUrl}", host.Output, StringComparison.Ordinal);
        Assert.Contains("DynamoDbApi", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondHost_OnTheSameDataDirectory_IsRefused()
    {
        await using var host = await HostProcess.StartAsync();
        var second = await HostProcess.RunToExitAsync(["--port", "0", "--data-dir", host.DataDirectory]);
        Assert.NotEqual(0, second.ExitCode);
        Assert.Contains("is in use by another instance", second.StandardError, StringComparison.Ordinal);
        await ProtocolTests.AssertServesAsync(host);
    }

    [Fact]
    public async Task GracefulStop_ClosesEngine_AndRestartServesOnSamePort()
    {
        await using var host = await HostProcess.StartAsync();
        await ProtocolTests.AssertServesAsync(host);
        var port = host.Port;

        var exitCode = await host.StopAsync();

        Assert.Equal(0, exitCode);
        Assert.Contains("Engine closed.", host.Output, StringComparison.Ordinal);
        Assert.Contains("Stopped.", host.Output, StringComparison.Ordinal);

        await host.RestartAsync();

        Assert.Equal(port, host.Port);
        await ProtocolTests.AssertServesAsync(host);
    }

    [Fact]
    public async Task Kill_ThenRestart_ServesAgainOnSameData()
    {
        await using var host = await HostProcess.StartAsync();
        await ProtocolTests.AssertServesAsync(host);

        await host.KillAsync();

        Assert.True(host.HasExited);
        await host.RestartAsync();
        await ProtocolTests.AssertServesAsync(host);
    }

    [Fact]
    public async Task InvalidEngineConfiguration_FailsStartup_WithMessage()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string> { ["Engine__AccountId"] = "not-digits" },
            StartTimeout = TimeSpan.FromSeconds(60),
        }));

        Assert.Contains("AccountId", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LocalSettingsJsonValues_AreRead_AndEnvironmentWinsOverThem()
    {
        const string settings = """{ "IsEncrypted": false, "Values": { "Engine__AccountId": "bad" } }""";

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => HostProcess.StartAsync(new HostProcessOptions { LocalSettingsJson = settings }));
        Assert.Contains("AccountId", error.Message, StringComparison.Ordinal);

        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            LocalSettingsJson = settings,
            Environment = new Dictionary<string, string> { ["Engine__AccountId"] = "123456789012" },
        });
        await ProtocolTests.AssertServesAsync(host);
    }
}
