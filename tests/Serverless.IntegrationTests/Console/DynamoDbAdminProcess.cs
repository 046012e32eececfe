using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Console;

/// <summary>
/// dynamodb-admin (the web GUI DynamoDB Local users install, from npm) pointed at a host: installed at the pinned
/// version into the git-ignored <c>.tools/dynamodb-admin</c> on first use, bound to 127.0.0.1 on a free port.
/// </summary>
public sealed class DynamoDbAdminProcess : IAsyncDisposable
{
    public const string Version = "5.3.3";

    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private DynamoDbAdminProcess(Process process, int port)
    {
        _process = process;
        Url = $"http://127.0.0.1:{port}";
    }

    public string Url { get; }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static string ToolDirectory => Path.Combine(RepositoryLayout.Root, ".tools", "dynamodb-admin");

    public static async Task<DynamoDbAdminProcess> StartAsync(string dynamoEndpoint)
    {
        var script = await EnsureInstalledAsync();
        var port = FreePort();
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) }) info.ArgumentList.Add(a);
        info.Environment["DYNAMO_ENDPOINT"] = dynamoEndpoint;
        info.Environment["AWS_REGION"] = "us-east-1";
        info.Environment["AWS_ACCESS_KEY_ID"] = "dynamodb-admin";
        info.Environment["AWS_SECRET_ACCESS_KEY"] = "dynamodb-admin";
        var admin = new DynamoDbAdminProcess(Process.Start(info)!, port);
        admin._process.OutputDataReceived += (_, e) => admin.Append(e.Data);
        admin._process.ErrorDataReceived += (_, e) => admin.Append(e.Data);
        admin._process.BeginOutputReadLine();
        admin._process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return admin;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !admin._process.HasExited)
            {
                await Task.Delay(200);
            }
            catch (SocketException)
            {
                var output = admin.Output;
                await admin.DisposeAsync();
                throw new InvalidOperationException($"dynamodb-admin did not start:\n{output}");
            }
        }
    }

    private static async Task<string> EnsureInstalledAsync()
    {
        var package = Path.Combine(ToolDirectory, "node_modules", "dynamodb-admin");
        var script = Path.Combine(package, "dist", "dynamodb-admin.js");
        await InstallGate.WaitAsync();
        try
        {
            if (File.Exists(script) && InstalledVersion(package) == Version) return script;
            Directory.CreateDirectory(ToolDirectory);
            var info = new ProcessStartInfo("npm") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = ToolDirectory };
            foreach (var a in new[] { "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", ToolDirectory, $"dynamodb-admin@{Version}" }) info.ArgumentList.Add(a);
            using var npm = Process.Start(info) ?? throw new InvalidOperationException("npm is needed to install dynamodb-admin (install Node.js).");
            var stdout = npm.StandardOutput.ReadToEndAsync();
            var stderr = npm.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await npm.WaitForExitAsync(timeout.Token);
            if (npm.ExitCode != 0 || !File.Exists(script))
                throw new InvalidOperationException($"npm install dynamodb-admin@{Version} failed:\n{await stdout}{await stderr}");
            return script;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static string? InstalledVersion(string package)
    {
        var file = Path.Combine(package, "package.json");
        if (!File.Exists(file)) return null;
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(file));
        return document.RootElement.TryGetProperty("version", out var v) ? v.GetString() : null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public async ValueTask DisposeAsync()
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
    }
}
