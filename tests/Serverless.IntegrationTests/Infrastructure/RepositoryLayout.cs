using System.Reflection;

namespace Serverless.IntegrationTests.Infrastructure;

/// <summary>Finds the repository (the folder holding Serverless.sln) and the build output of the host.</summary>
public static class RepositoryLayout
{
    /// <summary>Overrides the host's location, e.g. to test a published build.</summary>
    public const string HostDllVariable = "SERVERLESS_HOST_DLL";

    public static string Root { get; } = FindRoot();

    /// <summary>Build configuration of this test assembly, which is the one the host was built in.</summary>
    public static string Configuration { get; } =
        typeof(RepositoryLayout).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public static string HostDll
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable(HostDllVariable);
            if (!string.IsNullOrEmpty(overridden)) return overridden;
            var path = Path.Combine(Root, "src", "Host", "bin", Configuration, "net10.0", "Serverless.Host.dll");
            if (!File.Exists(path))
                throw new FileNotFoundException($"The local host is not built: {path} is missing. Build the tests (they reference src/Host) or set {HostDllVariable}.", path);
            return path;
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException($"No Serverless.sln above {AppContext.BaseDirectory}.");
    }
}
