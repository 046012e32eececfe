using System.Security.Cryptography;

namespace Serverless.Engine.Security.Authentication;

/// <summary>
/// SHA-256 and HMAC-SHA256 through one reusable <see cref="IncrementalHash"/> per thread: on Linux a one-shot
/// call sets up an OpenSSL context each time, which costs more than the hashing of a small request. The HMAC
/// instance is kept for the last signing key the thread used (a client's key changes once a day).
/// </summary>
internal static class Hashing
{
    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    [ThreadStatic]
    private static IncrementalHash? t_hmac;

    [ThreadStatic]
    private static byte[]? t_hmacKey;

    public static void Sha256(ReadOnlySpan<byte> data, Span<byte> hash)
    {
        var sha = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(data);
        sha.GetHashAndReset(hash);
    }

    /// <summary>HMAC-SHA256 under <paramref name="key"/>, which must not change after the call (a cached signing key).</summary>
    public static void HmacSha256(byte[] key, ReadOnlySpan<byte> data, Span<byte> mac)
    {
        var hmac = t_hmac;
        if (hmac is null || !ReferenceEquals(t_hmacKey, key))
        {
            hmac?.Dispose();
            hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
            t_hmac = hmac;
            t_hmacKey = key;
        }

        hmac.AppendData(data);
        hmac.GetHashAndReset(mac);
    }
}
