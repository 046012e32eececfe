namespace Serverless.Host;

/// <summary>Turns command-line flags into configuration keys, which override every other configuration source.</summary>
internal sealed record HostCommandLine(IReadOnlyDictionary<string, string?> Settings, bool ShowHelp, string? Error)
{
    public const string Usage = """
        Serverless DynamoDB local function host: runs the Azure Functions app's functions on this machine.

        usage: dotnet run --project src/Host -- [options]

        options:
          --port N          TCP port to listen on (default 8000; 0 picks a free one)
          --https-port N    also serve HTTPS on this port (0 picks a free one), with --cert or else a development
                            certificate for localhost/127.0.0.1 that the host creates under --data-dir/tls and
                            reuses; the banner prints its path, to trust it (aws --ca-bundle, boto3 verify=)
          --cert FILE       HTTPS certificate: a PFX/PKCS#12 file, or a PEM file with the certificate and its key
          --cert-key FILE   the PEM private key, if it is not in the --cert file
          --cert-password P password of the PFX file, or of an encrypted PEM key
          --host ADDR       IP address to bind (default 127.0.0.1, loopback only)
          --data-dir DIR    folder holding the store (default ./data)
          --in-memory       keep everything in memory; nothing survives a restart
          --no-throttling   never throttle: provisioned throughput, burst, on-demand maximums and per-key limits
                            are only metered (sets Capacity__Enforce=false)
          --storage CONN    Azure Storage connection string (Azurite or Azure): the store lives in blob
                            storage (sets AzureWebJobsStorage); without it, everything stays in --data-dir
          --regions LIST    run one engine per region (comma-separated, e.g. us-east-1,eu-west-1), each with its
                            own store under --data-dir/<region>; requests go by their SigV4 region
          --region NAME     the region this host serves (default us-east-1): one host per region, global
                            tables replicate to the peer hosts named by GlobalTables__Peers__<region>__Queue
          --silo-port N     with ScaleOut__Enabled=true: the co-hosted Orleans silo's port (default 11111)
          --gateway-port N  with ScaleOut__Enabled=true: the silo's client gateway port (default 30000)
          --help            print this text and exit

        Every option can also come from configuration: environment variables (LocalHost__Port, LocalHost__Address,
        LocalHost__HttpsPort, LocalHost__Certificate, LocalHost__CertificateKey, LocalHost__CertificatePassword,
        Engine__DataDirectory, Engine__InMemory, other Engine__* settings) or the Values of a local.settings.json in
        the working directory. Flags win over environment variables, which win over local.settings.json.

        A start-up failure is one line on stderr; Logging__LogLevel__Default=Debug adds its stack trace.

        Access keys (Auth__Keys__0__AccessKeyId, Auth__Keys__0__SecretAccessKey, Auth__Keys__0__Principal,
        Auth__Keys__0__Policy): with none configured, the host accepts any credentials, as DynamoDB Local does;
        with one or more, it verifies SigV4 signatures (Auth__Mode=Verify or AcceptAny overrides this).
        """;

    /// <summary>The setting <c>--no-throttling</c> turns off.</summary>
    public const string NoThrottlingKey = "Capacity:Enforce";

    public static HostCommandLine Parse(IReadOnlyList<string> args)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inline = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            switch (arg)
            {
                case "--help" or "-h" or "-?":
                    return new(settings, ShowHelp: true, Error: null);
                case "--in-memory":
                    settings[LocalHostOptions.InMemoryKey] = inline ?? "true";
                    break;
                case "--no-throttling":
                    settings[NoThrottlingKey] = inline is null ? "false" : inline == "false" ? "true" : "false";
                    break;
                case "--port" or "--https-port" or "--host" or "--data-dir" or "--storage" or "--cert" or "--cert-key" or "--cert-password" or "--regions" or "--region" or "--silo-port" or "--gateway-port":
                    var value = inline ?? (i + 1 < args.Count ? args[++i] : null);
                    if (string.IsNullOrEmpty(value)) return Fail($"{arg} needs a value");
                    if (arg is "--port" or "--https-port" or "--silo-port" or "--gateway-port" && !(int.TryParse(value, out var port) && port is >= 0 and <= 65535))
                        return Fail($"{arg} must be a number from 0 to 65535, not '{value}'");
                    settings[arg switch
                    {
                        "--port" => LocalHostOptions.PortKey,
                        "--https-port" => LocalHostOptions.HttpsPortKey,
                        "--host" => LocalHostOptions.AddressKey,
                        "--storage" => "AzureWebJobsStorage",
                        "--cert" => LocalHostOptions.CertificatePathKey,
                        "--cert-key" => LocalHostOptions.CertificateKeyPathKey,
                        "--cert-password" => LocalHostOptions.CertificatePasswordKey,
                        "--regions" => "LocalHost:Regions",
                        "--region" => "Engine:DefaultRegion",
                        "--silo-port" => "ScaleOut:SiloPort",
                        "--gateway-port" => "ScaleOut:GatewayPort",
                        _ => LocalHostOptions.DataDirectoryKey,
                    }] = value;
                    break;
                default:
                    return Fail($"unknown argument '{args[i]}'");
            }
        }

        return new(settings, ShowHelp: false, Error: null);

        HostCommandLine Fail(string error) => new(settings, ShowHelp: false, Error: error);
    }
}
