using System.Net;

namespace Serverless.Host;

/// <summary>Where the local host listens. Bound from the <c>LocalHost</c> configuration section.</summary>
internal sealed class LocalHostOptions
{
    public const string Section = "LocalHost";
    public const string PortKey = "LocalHost:Port";
    public const string AddressKey = "LocalHost:Address";
    public const string DataDirectoryKey = "Engine:DataDirectory";
    public const string InMemoryKey = "Engine:InMemory";
    public const string HttpsPortKey = "LocalHost:HttpsPort";
    public const string CertificatePathKey = "LocalHost:Certificate";
    public const string CertificateKeyPathKey = "LocalHost:CertificateKey";
    public const string CertificatePasswordKey = "LocalHost:CertificatePassword";

    /// <summary>TCP port; 0 picks a free one. Default: 8000 (the port DynamoDB Local uses).</summary>
    public int Port { get; set; } = 8000;

    /// <summary>IP address to bind; <c>localhost</c> means 127.0.0.1. Default: loopback only.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>
    /// Process requests on the socket thread that received them instead of queueing them to the thread pool
    /// (Kestrel's <c>UnsafePreferInlineScheduling</c>). Safe because request handling never blocks. Default: true.
    /// </summary>
    public bool InlineScheduling { get; set; } = true;

    /// <summary>TCP port of an HTTPS listener next to the HTTP one, on the same address; 0 picks a free one. Default: none.</summary>
    public int? HttpsPort { get; set; }

    /// <summary>
    /// The HTTPS certificate: a PFX/PKCS#12 file, or a PEM file holding the certificate (and its key unless
    /// <see cref="CertificateKey"/> is set). Default: a development certificate the host creates under the data directory.
    /// </summary>
    public string? Certificate { get; set; }

    /// <summary>PEM file holding the private key of a PEM <see cref="Certificate"/>, if it is not in the same file.</summary>
    public string? CertificateKey { get; set; }

    /// <summary>Password of a PFX <see cref="Certificate"/>, or of an encrypted PEM private key.</summary>
    public string? CertificatePassword { get; set; }

    public IPEndPoint ToEndPoint() => ToEndPoint(Port, PortKey);

    /// <summary>The HTTPS listener's address, or null when <see cref="HttpsPort"/> is unset.</summary>
    public IPEndPoint? ToHttpsEndPoint()
    {
        if (HttpsPort is not { } port)
        {
            if (Certificate is { Length: > 0 }) throw new ArgumentException($"{CertificatePathKey} is set but {HttpsPortKey} is not: pass --https-port too.");
            return null;
        }

        var endPoint = ToEndPoint(port, HttpsPortKey);
        if (port != 0 && port == Port) throw new ArgumentException($"{HttpsPortKey} and {PortKey} must differ, both are {port}.");
        return endPoint;
    }

    private IPEndPoint ToEndPoint(int port, string key)
    {
        if (port is < 0 or > 65535) throw new ArgumentException($"{key} must be from 0 to 65535, not {port}.");
        var address = string.Equals(Address, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(Address, out var parsed) ? parsed
            : throw new ArgumentException($"{AddressKey} must be an IP address or 'localhost', not '{Address}'.");
        return new IPEndPoint(address, port);
    }
}
