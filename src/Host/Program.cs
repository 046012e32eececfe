namespace Serverless.Host;

/// <summary>Command-line entry point of the local function host.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var command = HostCommandLine.Parse(args);
        if (command.Error is not null)
        {
            await Console.Error.WriteLineAsync($"error: {command.Error}\n");
            await Console.Error.WriteLineAsync(HostCommandLine.Usage);
            return 2;
        }

        if (command.ShowHelp)
        {
            await Console.Out.WriteLineAsync(HostCommandLine.Usage);
            return 0;
        }

        return await LocalFunctionHost.RunAsync(command.Settings);
    }
}
