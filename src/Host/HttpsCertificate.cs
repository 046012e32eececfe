using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Serverless.Host;

/// <summary>
/// The certificate of the HTTPS listener: one the user supplies (PFX or PEM), or a self-signed development
/// certificate for localhost/127.0.0.1/::1 that the host creates once under the data directory and reuses.
/// </summary>
internal sealed class HttpsCertificate(X509Certificate2 certificate, string source, string? trustFile, bool created)
{
    /// <summary>Folder of the development certificate, under the data directory.</summary>
    public const string DevelopmentFolder = "tls";

    /// <summary>The development certificate with its private key (PKCS#12, no password, readable by its owner only).</summary>
    public const string DevelopmentPfxName = "localhost.pfx";

    /// <summary>The development certificate alone (PEM), the file clients trust: <c>aws --ca-bundle</c>, boto3 <c>verify=</c>.</summary>
    public const string DevelopmentPemName = "localhost.pem";

    /// <summary>A development certificate is replaced when it has less than this left.</summary>
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    private static readonly TimeSpan DevelopmentLifetime = TimeSpan.FromDays(365);

    public X509Certificate2 Certificate { get; } = certificate;

    /// <summary>The file it came from (the user's certificate or the development PFX).</summary>
    public string Source { get; } = source;

    /// <summary>For a development certificate: the PEM file clients should trust.</summary>
    public string? TrustFile { get; } = trustFile;

    /// <summary>True when this start created the development certificate (false when it reused one).</summary>
    public bool Created { get; } = created;

    public string Sha256Thumbprint => Certificate.GetCertHashString(HashAlgorithmName.SHA256);

    /// <summary>The banner's description: where it is, its SHA-256 thumbprint and, for a development certificate, how to trust it.</summary>
    public string Describe()
    {
        var summary = $"(SHA-256 {Sha256Thumbprint}, expires {Certificate.NotAfter.ToUniversalTime():yyyy-MM-dd})";
        return TrustFile is { } trust
            ? $"{(Created ? "created" : "reused")} development certificate {trust} {summary}; trust it: aws --ca-bundle {trust}, boto3 verify='{trust}'"
            : $"{Source} {summary}";
    }

    /// <summary>Kestrel's TLS settings: this certificate, TLS 1.2 or 1.3 only (what infra/bicep requires of Azure too).</summary>
    public Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions ToKestrelOptions() => new()
    {
        ServerCertificate = Certificate,
        SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
    };

    /// <summary>The user's certificate when <see cref="LocalHostOptions.Certificate"/> is set, else the development one.</summary>
    public static HttpsCertificate Resolve(LocalHostOptions options, string dataDirectory, IPAddress address, TimeProvider time) =>
        options.Certificate is { Length: > 0 } path
            ? new HttpsCertificate(Load(path, options.CertificateKey, options.CertificatePassword), Path.GetFullPath(path), trustFile: null, created: false)
            : LoadOrCreateDevelopment(Path.Combine(Path.GetFullPath(dataDirectory), DevelopmentFolder), address, time);

    /// <summary>Loads a PFX/PKCS#12 file, or a PEM certificate with its key in the same file or in <paramref name="keyPath"/>.</summary>
    public static X509Certificate2 Load(string path, string? keyPath, string? password)
    {
        if (!File.Exists(path)) throw new IOException($"{LocalHostOptions.CertificatePathKey}: no such file '{path}'.");
        if (keyPath is { Length: > 0 } && !File.Exists(keyPath)) throw new IOException($"{LocalHostOptions.CertificateKeyPathKey}: no such file '{keyPath}'.");
        X509Certificate2 certificate;
        try
        {
            if (IsPem(path))
            {
                var key = keyPath is { Length: > 0 } ? keyPath : path;
                certificate = password is { Length: > 0 }
                    ? X509Certificate2.CreateFromEncryptedPemFile(path, password, key)
                    : X509Certificate2.CreateFromPemFile(path, key);
            }
            else
            {
                if (keyPath is { Length: > 0 }) throw new ArgumentException($"{LocalHostOptions.CertificateKeyPathKey} applies to PEM certificates only; '{path}' is not PEM.");
                certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
            }
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"{LocalHostOptions.CertificatePathKey}: cannot load '{path}' as a PEM certificate with its key or as a PFX file: {e.Message}", e);
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new ArgumentException($"{LocalHostOptions.CertificatePathKey}: '{path}' holds no private key; give it in the file or with --cert-key.");
        }

        return certificate;
    }

    private static bool IsPem(string path)
    {
        Span<byte> head = stackalloc byte[256];
        using var file = File.OpenRead(path);
        var read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return head[..read].IndexOf("-----BEGIN "u8) >= 0;
    }

    private static HttpsCertificate LoadOrCreateDevelopment(string folder, IPAddress address, TimeProvider time)
    {
        var pfx = Path.Combine(folder, DevelopmentPfxName);
        var pem = Path.Combine(folder, DevelopmentPemName);
        var now = time.GetUtcNow();
        if (File.Exists(pfx) && File.Exists(pem))
        {
            try
            {
                var existing = X509CertificateLoader.LoadPkcs12FromFile(pfx, password: null);
                if (existing.HasPrivateKey && existing.NotBefore.ToUniversalTime() <= now.UtcDateTime
                    && existing.NotAfter.ToUniversalTime() - now.UtcDateTime > RenewBefore && Covers(existing, address))
                    return new HttpsCertificate(existing, pfx, pem, created: false);
                existing.Dispose();
            }
            catch (CryptographicException)
            {
                // unreadable: replaced below
            }
        }

        var created = CreateDevelopment(address, now);
        Directory.CreateDirectory(folder);
        WritePrivate(pfx, created.Export(X509ContentType.Pkcs12));
        File.WriteAllText(pem, created.ExportCertificatePem() + "\n");
        return new HttpsCertificate(created, pfx, pem, created: true);
    }

    /// <summary>A self-signed RSA-2048 server certificate for localhost, 127.0.0.1, ::1 and the bound address.</summary>
    internal static X509Certificate2 CreateDevelopment(IPAddress address, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost, O=Serverless DynamoDB local host (development certificate)", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        if (IsSpecific(address)) names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build(critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        var subjectKey = new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false);
        request.CertificateExtensions.Add(subjectKey);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(subjectKey));
        using var selfSigned = request.CreateSelfSigned(now.AddDays(-1), now.Add(DevelopmentLifetime));
        return X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pkcs12), password: null);
    }

    private static bool IsSpecific(IPAddress address) =>
        !IPAddress.IsLoopback(address) && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any);

    /// <summary>True when the certificate names <paramref name="address"/> (always true for loopback and wildcard binds).</summary>
    private static bool Covers(X509Certificate2 certificate, IPAddress address)
    {
        if (!IsSpecific(address)) return true;
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension names)
            {
                foreach (var ip in names.EnumerateIPAddresses())
                {
                    if (ip.Equals(address)) return true;
                }
            }
        }

        return false;
    }

    private static void WritePrivate(string path, byte[] content)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        file.Write(content);
    }
}
