using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.FirstHour;

/// <summary>
/// What a new user meets in the first minutes: <c>dotnet run</c> keeps the store in <c>./data</c> of the folder it
/// is typed in, the banner's "Try:" command works in a fresh shell, and a start-up failure is one clear line.
/// </summary>
public sealed class FirstHourTests
{
    private const string AllowAll = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}""";

    [Fact]
    public async Task DotnetRun_KeepsTheStoreInDataOfTheWorkingDirectory()
    {
        var work = Directory.CreateTempSubdirectory("dotnet-run-").FullName;
        var project = Path.Combine(RepositoryLayout.Root, "src", "Host");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet ? dotnet : "dotnet",
            ["run", "--no-build", "-c", RepositoryLayout.Configuration, "--project", project, "--", "--port", "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = work,
        };
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("Engine__", StringComparison.Ordinal) || k.StartsWith("LocalHost__", StringComparison.Ordinal) || k.StartsWith("Auth__", StringComparison.Ordinal) || k == "AzureWebJobsStorage").ToList())
            start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["Engine__StoreMemoryBytes"] = "67108864";

        var output = new StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            if (e.Data.StartsWith("Now listening on: ", StringComparison.Ordinal)) listening.TrySetResult(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine("! " + e.Data);
        };
        try
        {
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var started = await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(180)));
            string text;
            lock (output) text = output.ToString();
            Assert.True(started == listening.Task, $"dotnet run did not start the host:\n{text}");

            Assert.Contains($"  storage: {Path.Combine(work, "data")}{Environment.NewLine}", text, StringComparison.Ordinal);
            Assert.True(Directory.Exists(Path.Combine(work, "data")), "no ./data in the working directory");
            Assert.False(Directory.Exists(Path.Combine(project, "data")) && Directory.GetLastWriteTimeUtc(Path.Combine(project, "data")) > DateTime.UtcNow.AddMinutes(-1), "the host wrote under src/Host/data");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task BannerTryCommand_WorksInAFreshShell()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = true });
        var command = TryCommand(host.Output);

        Assert.StartsWith("AWS_ACCESS_KEY_ID=", command, StringComparison.Ordinal);
        var result = await FreshShell.RunAsync(command, Path.GetTempPath());

        Assert.True(result.ExitCode == 0, $"{command}\n{result.StandardOutput}{result.StandardError}");
        Assert.Contains("\"TableNames\"", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BannerTryCommand_InVerifyMode_NamesAConfiguredKey_AndWorksWithItsSecret()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            InMemory = true,
            Environment = new Dictionary<string, string>
            {
                ["Auth__Keys__0__AccessKeyId"] = "AKIAFIRSTHOUR0000001",
                ["Auth__Keys__0__SecretAccessKey"] = "first-hour-secret",
                ["Auth__Keys__0__Principal"] = "arn:aws:iam::000000000000:user/admin",
                ["Auth__Keys__0__Policy"] = AllowAll,
            },
        });
        var line = host.Output.Split('\n').Single(l => l.StartsWith("Try", StringComparison.Ordinal));
        Assert.StartsWith("Try (with a configured key and its secret): AWS_ACCESS_KEY_ID=AKIAFIRSTHOUR0000001 AWS_SECRET_ACCESS_KEY=<its secret> ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("first-hour-secret", host.Output, StringComparison.Ordinal);

        var command = TryCommand(host.Output).Replace("<its secret>", "first-hour-secret", StringComparison.Ordinal);
        var result = await FreshShell.RunAsync(command, Path.GetTempPath());

        Assert.True(result.ExitCode == 0, $"{command}\n{result.StandardOutput}{result.StandardError}");
        Assert.Contains("\"TableNames\"", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartupFailure_IsOneLine_NamingTheSetting_WithTheStackTraceOnlyAtDebugLevel()
    {
        // Blob storage on a port where nothing listens, as with the sample settings before Azurite runs.
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var storage = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
        };
        var data = Path.Combine(Path.GetTempPath(), "startup-failure-" + Guid.NewGuid().ToString("N"));
        string[] arguments = ["--port", "0", "--data-dir", data];

        var plain = await HostProcess.RunToExitAsync(arguments, TimeSpan.FromSeconds(120), storage);

        Assert.NotEqual(0, plain.ExitCode);
        var line = Assert.Single(plain.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: could not start: ", line, StringComparison.Ordinal);
        Assert.Contains("the store is in blob storage because AzureWebJobsStorage is set", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", plain.StandardOutput + plain.StandardError, StringComparison.Ordinal);

        storage["Logging__LogLevel__Default"] = "Debug";
        var debug = await HostProcess.RunToExitAsync(arguments, TimeSpan.FromSeconds(120), storage);

        Assert.NotEqual(0, debug.ExitCode);
        Assert.StartsWith("error: could not start: ", debug.StandardError, StringComparison.Ordinal);
        Assert.Contains("   at ", debug.StandardError, StringComparison.Ordinal);
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task BadSetting_IsOneLine_WithoutAStackTrace()
    {
        var result = await HostProcess.RunToExitAsync(["--port", "0", "--in-memory"], environment: new Dictionary<string, string> { ["Engine__StoreMemoryBytes"] = "lots" });

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreOutsideTheWindow_SaysTheWindowInReadableTime()
    {
        await using var host = await HostProcess.StartAsync();
        using var client = host.CreateClient();
        var table = await Api.ApiTables.CreateAsync(client, "pitr-window");
        await client.UpdateContinuousBackupsAsync(new Amazon.DynamoDBv2.Model.UpdateContinuousBackupsRequest
        {
            TableName = table,
            PointInTimeRecoverySpecification = new Amazon.DynamoDBv2.Model.PointInTimeRecoverySpecification { PointInTimeRecoveryEnabled = true },
        });

        var error = await Assert.ThrowsAsync<Amazon.DynamoDBv2.Model.InvalidRestoreTimeException>(() => client.RestoreTableToPointInTimeAsync(new Amazon.DynamoDBv2.Model.RestoreTableToPointInTimeRequest
        {
            SourceTableName = table,
            TargetTableName = table + "-restored",
            RestoreDateTime = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc),
        }));

        Assert.Matches(@"^Restore time is not within the restore window: earliest \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(\d+\), latest \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(\d+\)$", error.Message);
    }

    /// <summary>The command of the banner's "Try" line, after its colon-terminated label.</summary>
    private static string TryCommand(string banner)
    {
        var line = banner.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith("Try", StringComparison.Ordinal));
        return line[(line.IndexOf(": ", StringComparison.Ordinal) + 2)..];
    }
}
