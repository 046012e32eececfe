using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Serverless.IntegrationTests.Infrastructure;

/// <summary>
/// Azurite (the Azure Storage emulator, from npm) on free loopback ports with a temporary location. The pinned
/// version is installed into the repository's git-ignored <c>.tools/azurite</c> on first use, so a fresh clone
/// needs only Node.js and npm. Disposing stops it and deletes its data.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    public const string Version = "3.37.0";

    /// <summary>Azurite's well-known development account.</summary>
    private const string Account = "devstoreaccount1";
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    private readonly Process _process;
    private readonly string _location;
    private readonly StringBuilder _output = new();

    private AzuriteProcess(Process process, string location, int blobPort, int queuePort)
    {
        _process = process;
        _location = location;
        BlobPort = blobPort;
        QueuePort = queuePort;
    }

    /// <summary>Azurite's <c>--location</c> folder: every byte it stores for blobs and queues.</summary>
    public string Location => _location;

    public int BlobPort { get; }

    public int QueuePort { get; }

    /// <summary>A connection string for <c>AzureWebJobsStorage</c> pointing at this instance.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint=http://127.0.0.1:{BlobPort}/{Account};QueueEndpoint=http://127.0.0.1:{QueuePort}/{Account};TableEndpoint=http://127.0.0.1:{TablePort}/{Account};";

    /// <summary>The table service's port (Orleans' Azure Table clustering, docs/scale-out.md).</summary>
    public int TablePort { get; private set; }

    public static string ToolDirectory => Path.Combine(RepositoryLayout.Root, ".tools", "azurite");

    public static async Task<AzuriteProcess> StartAsync()
    {
        var script = await EnsureInstalledAsync();
        var location = Directory.CreateTempSubdirectory("azurite-").FullName;
        for (var attempt = 0; ; attempt++)
        {
            var (blobPort, queuePort, tablePort) = (FreePort(), FreePort(), FreePort());
            var info = StartInfo(script, location, blobPort, queuePort, tablePort);
            var process = Process.Start(info)!;
            var azurite = new AzuriteProcess(process, location, blobPort, queuePort) { TablePort = tablePort };
            process.OutputDataReceived += (_, e) => azurite.Append(e.Data);
            process.ErrorDataReceived += (_, e) => azurite.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (await azurite.WaitUntilListeningAsync()) return azurite;
            var output = azurite.Output;
            await azurite.StopAsync(deleteLocation: attempt >= 2);
            if (attempt >= 2) throw new InvalidOperationException($"Azurite did not start:\n{output}");
        }
    }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync(deleteLocation: true));

    /// <summary>
    /// Freezes Azurite (SIGSTOP): storage becomes unreachable (requests time out) without losing its state, as killing
    /// it would (Azurite saves its metadata only every few seconds).
    /// </summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>Lets a paused Azurite run again (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill {signal} {_process.Id} failed");
    }

    private static ProcessStartInfo StartInfo(string script, string location, int blobPort, int queuePort, int tablePort)
    {
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            script, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--location", location,
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1",
            "--blobPort", blobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queuePort", queuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),

            // The table service holds Orleans' cluster membership (scale-out); a free port so parallel instances do not collide on 10002.
            "--tableHost", "127.0.0.1", "--tablePort", tablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        })
        {
            info.ArgumentList.Add(a);
        }

        return info;
    }

    /// <summary>Installs azurite@<see cref="Version"/> into <see cref="ToolDirectory"/> unless it is there; returns its entry script.</summary>
    private static async Task<string> EnsureInstalledAsync()
    {
        var script = Path.Combine(ToolDirectory, "node_modules", "azurite", "dist", "src", "azurite.js");
        await InstallGate.WaitAsync();
        try
        {
            if (File.Exists(script) && InstalledVersion() == Version) return script;
            Directory.CreateDirectory(ToolDirectory);
            var info = new ProcessStartInfo("npm")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = ToolDirectory,
            };
            foreach (var a in new[] { "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", ToolDirectory, $"azurite@{Version}" })
                info.ArgumentList.Add(a);
            Process npm;
            try
            {
                npm = Process.Start(info)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("npm is needed to install Azurite for the trigger tests (install Node.js).", e);
            }

            using (npm)
            {
                var stdout = npm.StandardOutput.ReadToEndAsync();
                var stderr = npm.StandardError.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
                await npm.WaitForExitAsync(timeout.Token);
                if (npm.ExitCode != 0 || !File.Exists(script))
                    throw new InvalidOperationException($"npm install azurite@{Version} failed:\n{await stdout}{await stderr}");
            }

            return script;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static string? InstalledVersion()
    {
        var package = Path.Combine(ToolDirectory, "node_modules", "azurite", "package.json");
        if (!File.Exists(package)) return null;
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(package));
        return document.RootElement.TryGetProperty("version", out var v) ? v.GetString() : null;
    }

    private async Task<bool> WaitUntilListeningAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, QueuePort));
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        return false;
    }

    private async Task StopAsync(bool deleteLocation)
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
        if (!deleteLocation) return;
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One Azurite for the test classes of <see cref="AzuriteCollection"/>.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    public AzuriteProcess Azurite => _azurite ?? throw new InvalidOperationException("Azurite has not started.");

    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_azurite is not null) await _azurite.DisposeAsync();
    }
}

/// <summary>Test classes marked <c>[Collection(AzuriteCollection.Name)]</c> share one Azurite and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
