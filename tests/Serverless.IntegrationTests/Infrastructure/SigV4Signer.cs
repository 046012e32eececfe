using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.IntegrationTests.Infrastructure;

/// <summary>An access key as a client holds it.</summary>
public sealed record SigV4Key(string AccessKeyId, string SecretAccessKey, string? SessionToken = null);

/// <summary>
/// The tests' own SigV4 signer, written from AWS's specification independently of the engine's verifier (so each
/// checks the other), for raw requests and the local host's admin routes. It signs host, x-amz-date, and
/// x-amz-target, content-type and x-amz-security-token when present. Checked against AWS's published vectors.
/// </summary>
public static class SigV4Signer
{
    public const string DateFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>Adds X-Amz-Date (and X-Amz-Security-Token) and a signed Authorization header to <paramref name="request"/>.</summary>
    public static void Sign(HttpRequestMessage request, byte[] body, SigV4Key key, string region, string service, DateTime utc)
    {
        var stamp = utc.ToString(DateFormat, CultureInfo.InvariantCulture);
        request.Headers.Remove("X-Amz-Date");
        request.Headers.TryAddWithoutValidation("X-Amz-Date", stamp);
        if (key.SessionToken is not null) request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", key.SessionToken);

        var uri = request.RequestUri!.IsAbsoluteUri ? request.RequestUri : throw new ArgumentException("The request needs an absolute URI.");
        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["host"] = uri.IsDefaultPort ? uri.Host : uri.Authority, ["x-amz-date"] = stamp };
        foreach (var name in new[] { "X-Amz-Target", "X-Amz-Security-Token" })
            if (request.Headers.TryGetValues(name, out var values)) headers[name.ToLowerInvariant()] = string.Join(",", values);
        if (request.Content?.Headers.ContentType is { } contentType) headers["content-type"] = contentType.ToString();

        var signedHeaders = string.Join(";", headers.Keys);
        var canonical = CanonicalRequest(request.Method.Method, uri.AbsolutePath, uri.Query.TrimStart('?'), headers, signedHeaders, Hex(SHA256.HashData(body)));
        var scope = $"{stamp[..8]}/{region}/{service}/aws4_request";
        var signature = Signature(key.SecretAccessKey, stamp, scope, canonical);
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", $"AWS4-HMAC-SHA256 Credential={key.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}");
    }

    /// <summary>The canonical request; <paramref name="query"/> is re-sorted by name, then value.</summary>
    public static string CanonicalRequest(string method, string path, string query, IReadOnlyDictionary<string, string> headers, string signedHeaders, string payloadHashHex)
    {
        var pairs = query.Length == 0
            ? []
            : query.Split('&').Select(p => p.Split('=', 2)).Select(p => (Name: Uri.EscapeDataString(Uri.UnescapeDataString(p[0])), Value: p.Length > 1 ? Uri.EscapeDataString(Uri.UnescapeDataString(p[1])) : "")).ToList();
        pairs.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name) is var c && c != 0 ? c : string.CompareOrdinal(a.Value, b.Value));
        var builder = new StringBuilder();
        builder.Append(method).Append('\n').Append(path.Length == 0 ? "/" : path).Append('\n');
        builder.Append(string.Join("&", pairs.Select(p => p.Name + "=" + p.Value))).Append('\n');
        foreach (var name in signedHeaders.Split(';')) builder.Append(name).Append(':').Append(headers[name].Trim()).Append('\n');
        builder.Append('\n').Append(signedHeaders).Append('\n').Append(payloadHashHex);
        return builder.ToString();
    }

    /// <summary>HMAC-SHA256 of the string to sign with the key derived from <paramref name="secret"/> for <paramref name="scope"/>.</summary>
    public static string Signature(string secret, string stamp, string scope, string canonicalRequest)
    {
        var stringToSign = $"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        var key = Encoding.UTF8.GetBytes("AWS4" + secret);
        foreach (var part in scope.Split('/')) key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        return Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
    }

    public static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
