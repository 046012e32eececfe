using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Host;

/// <summary>
/// The local host's HTTPS listener (<c>--https-port</c>): a development certificate it creates and reuses, or a PEM or
/// PFX certificate given with <c>--cert</c>; real clients trust it by thumbprint (the SDK) or by file (boto3).
/// </summary>
public sealed partial class HttpsTests
{
    [Fact]
    public async Task DevelopmentCertificate_ServesTheSdkOverHttps_AndIsReusedAfterRestart()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = Https() });
        var first = Banner.Parse(host.Output);

        Assert.Equal(Path.Combine(host.DataDirectory, "tls", "localhost.pem"), first.TrustFile);
        Assert.Contains("created development certificate", host.Output, StringComparison.Ordinal);
        using var pem = X509CertificateLoader.LoadCertificateFromFile(first.TrustFile!);
        Assert.Equal(first.Thumbprint, pem.GetCertHashString(HashAlgorithmName.SHA256));
        var names = Assert.Single(pem.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["localhost"], names.EnumerateDnsNames());
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], names.EnumerateIPAddresses());

        using (var client = CreateHttpsClient(first.Url, first.Thumbprint))
        {
            await client.CreateTableAsync(NewTable("Tls"));
            await client.PutItemAsync("Tls", new Dictionary<string, AttributeValue> { ["pk"] = new("a"), ["v"] = new("over tls") });
            var read = await client.GetItemAsync(new GetItemRequest { TableName = "Tls", Key = new() { ["pk"] = new("a") }, ConsistentRead = true });
            Assert.Equal("over tls", read.Item["v"].S);
        }

        // HTTP on --port keeps working next to HTTPS.
        using (var plain = host.CreateClient())
            Assert.Contains("Tls", (await plain.ListTablesAsync()).TableNames);

        await host.RestartAsync();
        var second = Banner.Parse(host.Output[host.Output.LastIndexOf("---- restart ----", StringComparison.Ordinal)..]);

        Assert.Equal(first.Thumbprint, second.Thumbprint);
        Assert.Contains("reused development certificate", host.Output, StringComparison.Ordinal);
        using (var client = CreateHttpsClient(second.Url, second.Thumbprint))
        {
            var read = await client.GetItemAsync(new GetItemRequest { TableName = "Tls", Key = new() { ["pk"] = new("a") }, ConsistentRead = true });
            Assert.Equal("over tls", read.Item["v"].S);
        }
    }

    [Fact]
    public async Task DevelopmentCertificate_IsNotTrustedByDefault_AndSpeaksTls12And13()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = true, Environment = Https() });
        var banner = Banner.Parse(host.Output);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(banner.Url, new StringContent("{}")));

        Assert.IsType<AuthenticationException>(refused.InnerException);

        foreach (var protocol in new[] { SslProtocols.Tls12, SslProtocols.Tls13 })
        {
            var uri = new Uri(banner.Url);
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(uri.Host, uri.Port);
            await using var tls = new SslStream(tcp.GetStream());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = protocol,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is X509Certificate2 presented && presented.GetCertHashString(HashAlgorithmName.SHA256) == banner.Thumbprint,
            });
            Assert.Equal(protocol, tls.SslProtocol);
        }
    }

    [Fact]
    public async Task Boto3_TrustsTheDevelopmentCertificateThroughVerify()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = true, Environment = Https() });
        var banner = Banner.Parse(host.Output);

        var output = await PythonScript.RunAsync("boto3_https.py", host, new Dictionary<string, string>
        {
            ["DDB_ENDPOINT"] = banner.Url,
            ["DDB_CA_BUNDLE"] = banner.TrustFile!,
        });

        Assert.Contains("OK", output, StringComparison.Ordinal);
    }

    public enum CertificateFile
    {
        PemWithKeyInSameFile,
        PemWithSeparateKey,
        EncryptedPemKey,
        PfxWithPassword,
    }

    [Theory]
    [InlineData(CertificateFile.PemWithKeyInSameFile)]
    [InlineData(CertificateFile.PemWithSeparateKey)]
    [InlineData(CertificateFile.EncryptedPemKey)]
    [InlineData(CertificateFile.PfxWithPassword)]
    public async Task SuppliedCertificate_ServesTheSdkOverHttps(CertificateFile kind)
    {
        var folder = Directory.CreateTempSubdirectory("serverless-cert-").FullName;
        try
        {
            using var certificate = CreateCertificate();
            var settings = Https();
            foreach (var (key, value) in WriteCertificate(certificate, kind, folder)) settings[key] = value;
            await using var host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = true, Environment = settings });
            var banner = Banner.Parse(host.Output);

            Assert.Null(banner.TrustFile);
            Assert.Equal(certificate.GetCertHashString(HashAlgorithmName.SHA256), banner.Thumbprint);
            Assert.False(Directory.Exists(Path.Combine(host.DataDirectory, "tls")), "no development certificate is created when --cert is given");
            using var client = CreateHttpsClient(banner.Url, banner.Thumbprint);
            await client.CreateTableAsync(NewTable("Supplied"));
            Assert.Contains("Supplied", (await client.ListTablesAsync()).TableNames);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task CommandLineFlags_SelectTheCertificate()
    {
        var folder = Directory.CreateTempSubdirectory("serverless-cert-").FullName;
        try
        {
            using var certificate = CreateCertificate();
            var pfx = Path.Combine(folder, "server.pfx");
            await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pkcs12, "pa55"));

            var wrongPassword = await HostProcess.RunToExitAsync(["--port", "0", "--in-memory", "--https-port", "0", "--cert", pfx, "--cert-password", "nope"]);
            Assert.Equal(1, wrongPassword.ExitCode);
            Assert.Contains($"error: LocalHost:Certificate: cannot load '{pfx}'", wrongPassword.StandardError, StringComparison.Ordinal);

            var missing = await HostProcess.RunToExitAsync(["--port", "0", "--in-memory", "--https-port", "0", "--cert", Path.Combine(folder, "absent.pem")]);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("error: LocalHost:Certificate: no such file", missing.StandardError, StringComparison.Ordinal);

            var noPort = await HostProcess.RunToExitAsync(["--port", "0", "--in-memory", "--cert", pfx]);
            Assert.Equal(1, noPort.ExitCode);
            Assert.Contains("LocalHost:Certificate is set but LocalHost:HttpsPort is not", noPort.StandardError, StringComparison.Ordinal);

            var badPort = await HostProcess.RunToExitAsync(["--https-port", "99999"]);
            Assert.Equal(2, badPort.ExitCode);
            Assert.Contains("--https-port must be a number from 0 to 65535", badPort.StandardError, StringComparison.Ordinal);

            var help = await HostProcess.RunToExitAsync(["--help"]);
            foreach (var flag in new[] { "--https-port N", "--cert FILE", "--cert-key FILE", "--cert-password P" })
                Assert.Contains(flag, help.StandardOutput, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Dictionary<string, string> Https() => new() { ["LocalHost__HttpsPort"] = "0" };

    private static CreateTableRequest NewTable(string name) => new()
    {
        TableName = name,
        KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
        AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
        BillingMode = BillingMode.PAY_PER_REQUEST,
    };

    /// <summary>An SDK client for <paramref name="url"/> that trusts exactly the certificate with this SHA-256 thumbprint.</summary>
    private static AmazonDynamoDBClient CreateHttpsClient(string url, string sha256Thumbprint) =>
        new(new BasicAWSCredentials("AKIDEXAMPLE", "secret"), new AmazonDynamoDBConfig
        {
            ServiceURL = url,
            AuthenticationRegion = "us-east-1",
            Timeout = TimeSpan.FromSeconds(10),
            MaxErrorRetry = 0,
            HttpClientFactory = new PinnedCertificateHttpClientFactory(sha256Thumbprint),
        });

    private sealed class PinnedCertificateHttpClientFactory(string sha256Thumbprint) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is X509Certificate2 presented
                    && string.Equals(presented.GetCertHashString(HashAlgorithmName.SHA256), sha256Thumbprint, StringComparison.OrdinalIgnoreCase),
            },
        });
    }

    /// <summary>An ECDSA P-256 server certificate for 127.0.0.1 (the development certificate is RSA: both kinds are served).</summary>
    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=serverless-test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>Writes <paramref name="certificate"/> in the form <paramref name="kind"/> and returns the host settings naming it.</summary>
    private static Dictionary<string, string> WriteCertificate(X509Certificate2 certificate, CertificateFile kind, string folder)
    {
        var certificatePem = certificate.ExportCertificatePem();
        using var key = certificate.GetECDsaPrivateKey()!;
        var path = Path.Combine(folder, kind == CertificateFile.PfxWithPassword ? "server.pfx" : "server.pem");
        var settings = new Dictionary<string, string> { ["LocalHost__Certificate"] = path };
        switch (kind)
        {
            case CertificateFile.PemWithKeyInSameFile:
                File.WriteAllText(path, certificatePem + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n");
                break;
            case CertificateFile.PemWithSeparateKey:
                File.WriteAllText(path, certificatePem + "\n");
                File.WriteAllText(settings["LocalHost__CertificateKey"] = Path.Combine(folder, "server.key"), key.ExportPkcs8PrivateKeyPem());
                break;
            case CertificateFile.EncryptedPemKey:
                File.WriteAllText(path, certificatePem + "\n");
                var encrypted = key.ExportEncryptedPkcs8PrivateKeyPem("pem-pass", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000));
                File.WriteAllText(settings["LocalHost__CertificateKey"] = Path.Combine(folder, "server.key"), encrypted);
                settings["LocalHost__CertificatePassword"] = "pem-pass";
                break;
            case CertificateFile.PfxWithPassword:
                File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, "pfx-pass"));
                settings["LocalHost__CertificatePassword"] = "pfx-pass";
                break;
        }

        return settings;
    }

    /// <summary>The HTTPS lines of the host's start-up banner.</summary>
    private sealed partial record Banner(string Url, string Thumbprint, string? TrustFile)
    {
        public static Banner Parse(string output)
        {
            var url = UrlLine().Match(output);
            var certificate = CertificateLine().Match(output);
            Assert.True(url.Success && certificate.Success, "no HTTPS lines in the banner:\n" + output);
            var trust = certificate.Groups["trust"];
            return new Banner(url.Groups["url"].Value, certificate.Groups["sha"].Value, trust.Success ? trust.Value : null);
        }

        [GeneratedRegex(@"^  https: (?<url>https://\S+)$", RegexOptions.Multiline)]
        private static partial Regex UrlLine();

        [GeneratedRegex(@"^  https certificate: (?:(?:created|reused) development certificate (?<trust>\S+)|\S+) \(SHA-256 (?<sha>[0-9A-F]{64}),", RegexOptions.Multiline)]
        private static partial Regex CertificateLine();
    }
}
