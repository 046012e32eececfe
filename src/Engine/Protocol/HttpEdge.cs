using System.Buffers;
using System.IO.Compression;

namespace Serverless.Engine.Protocol;

/// <summary>
/// What DynamoDB's HTTP front end does around the API itself, for the hosts to apply: the health answer of
/// <c>GET /</c>, CORS (an <c>OPTIONS</c> preflight and the headers of every answer to a browser), compressed
/// request bodies and compressed answers. See docs/architecture.md, "The HTTP edge".
/// </summary>
public static class HttpEdge
{
    /// <summary>The body of <c>GET /</c>, as DynamoDB's endpoints answer it.</summary>
    public static string HealthText(string region) => $"healthy: dynamodb.{region}.amazonaws.com ";

    /// <summary>CORS: any origin may call (requests are authorised by their signature, not their origin).</summary>
    public const string AllowOrigin = "*";

    /// <summary>The response headers a page may read, as DynamoDB exposes them.</summary>
    public const string ExposeHeaders = "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date";

    /// <summary>What a preflight answers when it names no method: DynamoDB's API is POST only.</summary>
    public const string AllowMethods = "POST";

    /// <summary>How long a browser may cache a preflight's answer (two days, as DynamoDB sends).</summary>
    public const string MaxAgeSeconds = "172800";

    /// <summary>
    /// Answers at least this long are compressed when the client accepts gzip. DynamoDB compresses only larger
    /// answers and does not document where the line is; small ones gain nothing from it.
    /// </summary>
    public const int CompressFromBytes = 4096;

    /// <summary>
    /// The longest request target (path and query) served. DynamoDB's front end answers a longer one with a bare
    /// 400 Bad Request, not 414 (a public suite run against DynamoDB sends a 17,000-character path and expects 400).
    /// </summary>
    public const int MaxUrlLength = 8192;

    /// <summary>Whether a request target of this many characters is refused with 400.</summary>
    public static bool UrlTooLong(int pathAndQueryLength) => pathAndQueryLength > MaxUrlLength;

    /// <summary>The content coding of a request body that the engine decodes: gzip and deflate; anything else is taken as sent.</summary>
    public enum BodyCoding
    {
        Identity,
        Gzip,
        Deflate,
    }

    /// <summary>
    /// The coding named by a <c>Content-Encoding</c> header. Codings this service does not know are taken as
    /// identity: older AWS SDKs send <c>Content-Encoding: amz-1.0</c> on uncompressed JSON.
    /// </summary>
    public static BodyCoding CodingOf(string? contentEncoding)
    {
        if (string.IsNullOrEmpty(contentEncoding)) return BodyCoding.Identity;
        var value = contentEncoding.AsSpan().Trim();
        if (value.Equals("gzip", StringComparison.OrdinalIgnoreCase) || value.Equals("x-gzip", StringComparison.OrdinalIgnoreCase)) return BodyCoding.Gzip;
        if (value.Equals("deflate", StringComparison.OrdinalIgnoreCase)) return BodyCoding.Deflate;
        return BodyCoding.Identity;
    }

    /// <summary>Whether an <c>Accept-Encoding</c> header accepts gzip (and does not refuse it with <c>q=0</c>).</summary>
    public static bool AcceptsGzip(string? acceptEncoding)
    {
        if (string.IsNullOrEmpty(acceptEncoding)) return false;
        foreach (var range in acceptEncoding.AsSpan().Split(','))
        {
            var part = acceptEncoding.AsSpan()[range].Trim();
            var semi = part.IndexOf(';');
            var coding = (semi < 0 ? part : part[..semi]).Trim();
            if (!coding.Equals("gzip", StringComparison.OrdinalIgnoreCase) && !coding.Equals("*", StringComparison.Ordinal)) continue;
            if (semi < 0) return true;
            var parameter = part[(semi + 1)..].Trim();
            return !(parameter.StartsWith("q=", StringComparison.OrdinalIgnoreCase) && IsZero(parameter[2..]));
        }

        return false;
    }

    private static bool IsZero(ReadOnlySpan<char> q) => q.TrimEnd('0').TrimEnd('.').SequenceEqual("0") || q.SequenceEqual("0");

    /// <summary>
    /// Decodes a compressed request body into a pooled buffer (the caller returns it). Throws the
    /// SerializationException AWS gives an undecodable body, and RequestTooLarge past <paramref name="max"/>
    /// decoded bytes, so a small body cannot expand without bound.
    /// </summary>
    internal static (byte[] Buffer, int Length) Decode(BodyCoding coding, byte[] body, int bodyLength, long max)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(max + 1, Math.Max(4096L, bodyLength * 4L)));
        var length = 0;
        try
        {
            using var source = new MemoryStream(body, 0, bodyLength, writable: false);
            using var decoder = Decoder(coding, source, body, bodyLength);
            while (true)
            {
                if (length == buffer.Length) buffer = RequestHandler.GrowBody(buffer, length, max);

                int read;
                try
                {
                    read = decoder.Read(buffer, length, buffer.Length - length);
                }
                catch (InvalidDataException)
                {
                    throw DynamoErrors.Serialization("");
                }

                if (read == 0) break;
                length += read;
                if (length > max) throw DynamoErrors.RequestTooLarge();
            }

            return (buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>gzip of an answer's body, with the CRC32 of the compressed bytes (DynamoDB's <c>x-amz-crc32</c> covers the bytes sent).</summary>
    public static (byte[] Body, uint Crc32) Gzip(ReadOnlySpan<byte> body)
    {
        using var output = new MemoryStream(body.Length / 3 + 64);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(body);
        var bytes = output.ToArray();
        return (bytes, Crc32.Compute(bytes));
    }

    /// <summary>
    /// HTTP's "deflate" is zlib-wrapped (RFC 9110), though some clients send raw deflate: read the zlib header
    /// when there is one, raw deflate otherwise.
    /// </summary>
    private static Stream Decoder(BodyCoding coding, MemoryStream source, byte[] body, int length)
    {
        if (coding == BodyCoding.Gzip) return new GZipStream(source, CompressionMode.Decompress);
        var zlib = length >= 2 && (body[0] & 0x0F) == 8 && ((body[0] << 8) | body[1]) % 31 == 0;
        return zlib ? new ZLibStream(source, CompressionMode.Decompress) : new DeflateStream(source, CompressionMode.Decompress);
    }
}
