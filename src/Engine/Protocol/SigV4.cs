namespace Serverless.Engine.Protocol;

/// <summary>Reads the region of a SigV4 <c>Authorization</c> header (in every mode); Security/Authentication verifies the signature.</summary>
public static class SigV4
{
    /// <summary>
    /// The region of the credential scope in
    /// <c>AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/dynamodb/aws4_request, SignedHeaders=..., Signature=...</c>,
    /// or null when the header is missing or malformed.
    /// </summary>
    public static string? RegionFromAuthorization(string? authorization)
    {
        if (string.IsNullOrEmpty(authorization)) return null;
        var span = authorization.AsSpan();
        var at = span.IndexOf("Credential=", StringComparison.Ordinal);
        if (at < 0) return null;
        span = span[(at + "Credential=".Length)..];
        var end = span.IndexOfAny(',', ' ');
        if (end >= 0) span = span[..end];
        // access-key/date/region/service/aws4_request; the access key itself may not contain '/'.
        var slash1 = span.IndexOf('/');
        if (slash1 < 0) return null;
        span = span[(slash1 + 1)..];
        var slash2 = span.IndexOf('/');
        if (slash2 < 0) return null;
        span = span[(slash2 + 1)..];
        var slash3 = span.IndexOf('/');
        if (slash3 <= 0) return null;
        return RegionCache.Get(span[..slash3]);
    }

    /// <summary>Avoids allocating a region string per request for the handful of regions a process sees.</summary>
    private static class RegionCache
    {
        private static volatile string[] _known = [];

        public static string Get(ReadOnlySpan<char> region)
        {
            var known = _known;
            foreach (var k in known)
                if (region.SequenceEqual(k)) return k;
            var s = region.ToString();
            if (known.Length < 64) _known = [.. known, s];
            return s;
        }
    }
}
