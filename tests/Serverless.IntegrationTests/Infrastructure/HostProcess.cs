using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.Runtime;

namespace Serverless.IntegrationTests.Infrastructure;

/// <summary>How to start a <see cref="HostProcess"/>.</summary>
public sealed record HostProcessOptions
{
    /// <summary>Run the engine in memory (no data directory).</summary>
    public bool InMemory { get; init; }

    /// <summary>Extra environment variables for the host, e.g. <c>Engine__MaxRequestBytes</c>.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Content of a local.settings.json placed in the host's working directory, if any.</summary>
    public string? LocalSettingsJson { get; init; }

    /// <summary>How long start-up may take before the test fails with the host's output.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>The outcome of running the host to completion (e.g. <c>--help</c>).</summary>
public sealed record HostRunResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// The local function host (src/Host) running as a separate OS process on a free loopback port with its own
/// temporary data directory. Tests can talk to it over HTTP or the AWS SDK, kill it, stop it gracefully and
/// restart it on the same port and data. Disposing kills it and deletes the directory.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private const string ListeningPrefix = "Now listening on: ";
    private static readonly ConcurrentDictionary<HostProcess, byte> Live = new();

    private readonly HostProcessOptions _options;
    private readonly string _workDirectory;
    private readonly StringBuilder _output = new();
    private Process? _process;
    private TaskCompletionSource<string> _listening = NewSignal();

    static HostProcess()
    {
        // A crashed or aborted test run must not leave hosts behind.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var host in Live.Keys) host.KillNow();
        };
    }

    private HostProcess(HostProcessOptions options)
    {
        _options = options;
        _workDirectory = Directory.CreateTempSubdirectory("serverless-host-").FullName;
        DataDirectory = Path.Combine(_workDirectory, "data");
        if (options.LocalSettingsJson is not null) File.WriteAllText(Path.Combine(_workDirectory, "local.settings.json"), options.LocalSettingsJson);
    }

    /// <summary>The store's folder; it survives <see cref="KillAsync"/>, <see cref="StopAsync"/> and restarts.</summary>
    public string DataDirectory { get; }

    /// <summary>The loopback port; fixed after the first start so restarts keep the same URL.</summary>
    public int Port { get; private set; }

    /// <summary>Base URL of the DynamoDB endpoint, e.g. <c>http://127.0.0.1:43121</c>.</summary>
    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    public int ProcessId => _process?.Id ?? throw new InvalidOperationException("The host has not started.");

    public bool HasExited => _process is null || _process.HasExited;

    /// <summary>Everything the host printed so far, stdout and stderr interleaved (stderr lines start with "!").</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static async Task<HostProcess> StartAsync(HostProcessOptions? options = null)
    {
        var host = new HostProcess(options ?? new HostProcessOptions());
        try
        {
            await host.LaunchAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs the host with <paramref name="arguments"/> until it exits on its own (for --help, bad flags).</summary>
    /// <param name="dll">Another entry point to run the same way instead of the host (the function app's).</param>
    public static async Task<HostRunResult> RunToExitAsync(IEnumerable<string> arguments, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null, string? dll = null)
    {
        var work = Directory.CreateTempSubdirectory("serverless-host-").FullName;
        try
        {
            return await ProcessRunner.RunAsync(CreateStartInfo(arguments, work, environment ?? new Dictionary<string, string>(), dll), timeout ?? TimeSpan.FromSeconds(60));
        }
        finally
        {
            TryDeleteDirectory(work);
        }
    }

    /// <summary>
    /// The first key of the host's <c>Auth__Keys__0__*</c> environment, if it was started with keys (Verify mode):
    /// <see cref="CreateClient"/> and the admin helpers sign with it.
    /// </summary>
    public SigV4Key? Key =>
        _options.Environment.TryGetValue("Auth__Keys__0__AccessKeyId", out var id) && _options.Environment.TryGetValue("Auth__Keys__0__SecretAccessKey", out var secret)
            ? new SigV4Key(id, secret, _options.Environment.GetValueOrDefault("Auth__Keys__0__SessionToken"))
            : null;

    /// <summary>An SDK client for this host: fake credentials (or <see cref="Key"/>), us-east-1, short timeouts, one retry.</summary>
    public AmazonDynamoDBClient CreateClient(Action<AmazonDynamoDBConfig>? configure = null)
    {
        var config = new AmazonDynamoDBConfig
        {
            ServiceURL = ServiceUrl,
            AuthenticationRegion = "us-east-1",
            Timeout = TimeSpan.FromSeconds(10),
            MaxErrorRetry = 1,
        };
        configure?.Invoke(config);
        AWSCredentials credentials = Key switch
        {
            null => new BasicAWSCredentials("AKIDEXAMPLE", "secret"),
            { SessionToken: { } token } key => new SessionAWSCredentials(key.AccessKeyId, key.SecretAccessKey, token),
            var key => new BasicAWSCredentials(key.AccessKeyId, key.SecretAccessKey),
        };
        return new AmazonDynamoDBClient(credentials, config);
    }

    /// <summary>Moves the host's clock forward (needs LocalHost__ClockControl=true).</summary>
    public async Task AdvanceClockAsync(TimeSpan by)
    {
        using var response = await SendAdminAsync(HttpMethod.Post, $"/admin/clock/advance/{(int)by.TotalSeconds}");
        response.EnsureSuccessStatusCode();
        ClockOffset += TimeSpan.FromSeconds((int)by.TotalSeconds);
    }

    /// <summary>How far <see cref="AdvanceClockAsync"/> has moved the host's clock ahead of the real one.</summary>
    public TimeSpan ClockOffset { get; private set; }

    /// <summary>
    /// Calls an <c>/admin</c> route, signed with <see cref="Key"/> (as service <c>dynamodb</c>, us-east-1, at the host's
    /// clock) when the host has keys.
    /// </summary>
    public async Task<HttpResponseMessage> SendAdminAsync(HttpMethod method, string path, byte[]? body = null)
    {
        using var http = CreateHttpClient();
        using var request = new HttpRequestMessage(method, new Uri(new Uri(ServiceUrl), path));
        if (body is not null) request.Content = new ByteArrayContent(body);
        if (Key is { } key) SigV4Signer.Sign(request, body ?? [], key, "us-east-1", "dynamodb", DateTime.UtcNow + ClockOffset);
        return await http.SendAsync(request);
    }

    /// <summary>A plain HTTP client whose base address is <see cref="ServiceUrl"/>.</summary>
    public HttpClient CreateHttpClient() => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        BaseAddress = new Uri(ServiceUrl),
        Timeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>Kills the host at once (SIGKILL): no flush, no checkpoint, as in a crash.</summary>
    public async Task KillAsync()
    {
        var process = _process ?? throw new InvalidOperationException("The host has not started.");
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        Live.TryRemove(this, out _);
    }

    /// <summary>Stops the host gracefully (SIGTERM) and returns its exit code; kills it if it does not stop in time.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        var process = _process ?? throw new InvalidOperationException("The host has not started.");
        if (!process.HasExited)
        {
            if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
                throw new PlatformNotSupportedException("Graceful stop needs SIGTERM (Linux or macOS).");
            if (SendSignal(process.Id, SigTerm) != 0 && !process.HasExited)
                throw new Win32Exception(Marshal.GetLastPInvokeError(), $"kill -TERM {process.Id} failed");

            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"The host did not stop within {timeout ?? TimeSpan.FromSeconds(30)} of SIGTERM.\n{Output}");
            }
        }

        Live.TryRemove(this, out _);
        return process.ExitCode;
    }

    /// <summary>Starts the host again on the same port and data directory (after a kill or stop).</summary>
    public async Task RestartAsync()
    {
        if (!HasExited) await StopAsync();
        Append("---- restart ----");
        await LaunchAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            KillNow();
            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }

        Live.TryRemove(this, out _);
        TryDeleteDirectory(_workDirectory);
    }

    public override string ToString() => $"host pid {_process?.Id} at {ServiceUrl}";

    private async Task LaunchAsync()
    {
        _listening = NewSignal();
        var arguments = new List<string> { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (_options.InMemory) arguments.Add("--in-memory");
        else arguments.AddRange(["--data-dir", DataDirectory]);

        var process = new Process { StartInfo = CreateStartInfo(arguments, _workDirectory, _options.Environment), EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data, error: false);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, error: true);
        process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException("The host exited during start-up."));
        _process?.Dispose();
        _process = process;
        process.Start();
        Live.TryAdd(this, 0);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        string url;
        try
        {
            url = await _listening.Task.WaitAsync(_options.StartTimeout);
        }
        catch (Exception e)
        {
            KillNow();
            await process.WaitForExitAsync();
            throw new InvalidOperationException($"The host did not start ({e.Message}). Its output:\n{Output}", e);
        }

        Port = new Uri(url).Port;
        await WaitUntilAcceptingAsync();
    }

    private async Task WaitUntilAcceptingAsync()
    {
        // The banner is printed once Kestrel listens; one successful connect proves it from the outside.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port)).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private void OnLine(string? line, bool error)
    {
        if (line is null) return;
        Append(error ? "! " + line : line);
        if (!error && line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            _listening.TrySetResult(line[ListeningPrefix.Length..].Trim());
    }

    private void Append(string line)
    {
        lock (_output) _output.AppendLine(line);
    }

    private void KillNow()
    {
        try
        {
            if (_process is { HasExited: false } p) p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    private static ProcessStartInfo CreateStartInfo(IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment, string? dll = null)
    {
        // SERVERLESS_HOST_EXE runs the tests against a published host instead of the build's dll (docs/startup.md:
        // the Native AOT publish is checked this way).
        var published = dll is null && Environment.GetEnvironmentVariable("SERVERLESS_HOST_EXE") is { Length: > 0 } exe ? exe : null;
        var info = new ProcessStartInfo(published ?? (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } dotnet ? dotnet : "dotnet"))
        {
            WorkingDirectory = workingDirectory, // no stray local.settings.json from the repository
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (published is null) info.ArgumentList.Add(dll ?? RepositoryLayout.HostDll);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);

        foreach (var name in new[] { "ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "DOTNET_URLS" }) info.Environment.Remove(name);
        foreach (var key in info.Environment.Keys.Where(k => IsHostSetting(k)).ToList())
            info.Environment.Remove(key);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["Engine__StoreMemoryBytes"] = (64L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return info;
    }

    /// <summary>Settings of the host that must come from the test, never from the environment running the tests.</summary>
    private static bool IsHostSetting(string name) =>
        name.Equals("AzureWebJobsStorage", StringComparison.OrdinalIgnoreCase)
        || new[] { "Engine__", "LocalHost__", "Triggers__", "StreamFanOut__", "AuditLog__", "Auth__", "Encryption__" }.Any(p => name.StartsWith(p, StringComparison.OrdinalIgnoreCase));

    private static TaskCompletionSource<string> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder must not fail a test
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
