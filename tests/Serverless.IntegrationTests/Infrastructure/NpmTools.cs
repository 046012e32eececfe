using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Serverless.IntegrationTests.Infrastructure;

/// <summary>
/// npm packages the tests need (client SDKs, tools), installed at pinned versions into the repository's git-ignored
/// <c>.tools/&lt;name&gt;</c> on first use, as <see cref="AzuriteProcess"/> installs Azurite, so a fresh clone needs
/// only Node.js and npm. A folder is reinstalled when any package in it is missing or at another version.
/// </summary>
public static class NpmTools
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    /// <summary>Installs <paramref name="packages"/> (name → exact version) into <c>.tools/<paramref name="name"/></c>; returns its node_modules.</summary>
    public static async Task<string> EnsureInstalledAsync(string name, IReadOnlyDictionary<string, string> packages)
    {
        var directory = Path.Combine(RepositoryLayout.Root, ".tools", name);
        var modules = Path.Combine(directory, "node_modules");
        var gate = Gates.GetOrAdd(directory, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            if (packages.All(p => InstalledVersion(modules, p.Key) == p.Value)) return modules;
            Directory.CreateDirectory(directory);
            var info = new ProcessStartInfo("npm") { WorkingDirectory = directory };
            foreach (var a in new[] { "install", "--no-audit", "--no-fund", "--loglevel=error", "--save-exact", "--prefix", directory })
                info.ArgumentList.Add(a);
            foreach (var (package, version) in packages) info.ArgumentList.Add($"{package}@{version}");

            HostRunResult npm;
            try
            {
                npm = await ProcessRunner.RunAsync(info, TimeSpan.FromMinutes(5));
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException($"npm is needed to install {string.Join(", ", packages.Keys)} for the tests (install Node.js).", e);
            }

            var wrong = packages.Where(p => InstalledVersion(modules, p.Key) != p.Value).Select(p => $"{p.Key}@{p.Value}").ToList();
            if (npm.ExitCode != 0 || wrong.Count > 0)
                throw new InvalidOperationException($"npm install {string.Join(' ', wrong)} into {directory} failed:\n{npm.StandardOutput}{npm.StandardError}");

            return modules;
        }
        finally
        {
            gate.Release();
        }
    }

    private static string? InstalledVersion(string modules, string package)
    {
        var manifest = Path.Combine(modules, package, "package.json");
        if (!File.Exists(manifest)) return null;
        using var document = JsonDocument.Parse(File.ReadAllBytes(manifest));
        return document.RootElement.TryGetProperty("version", out var v) ? v.GetString() : null;
    }
}
