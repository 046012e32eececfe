namespace Serverless.Engine.Protocol;

/// <summary>
/// What the engine needs of an HTTP request: the target header, the auth header and the body. Signature
/// verification also needs the method, the path and query exactly as sent, and the other headers; hosts fill
/// those only when <see cref="Security.EngineSecurity.VerifiesSignatures"/> says so. <c>Content-Encoding</c>
/// (a gzip or deflate body is decoded) is always filled. <see cref="Cluster"/> names the DAX-style cache cluster
/// when the request arrived on its endpoint (<c>/dax/{cluster}</c>); <see cref="Host"/> and <see cref="Https"/> say
/// where the request was sent (DescribeEndpoints answers the host; the DAX control plane reports cluster endpoints).
/// </summary>
public readonly record struct ApiRequest(
    string? Target,
    string? Authorization,
    long? ContentLength,
    Stream Body,
    string? ContentType = null,
    string? AmzDate = null,
    string? Method = null,
    string? RawPath = null,
    string? RawQuery = null,
    IApiHeaders? Headers = null,
    string? ContentEncoding = null,
    string? Cluster = null,
    string? Host = null,
    bool Https = false);

/// <summary>Case-insensitive access to a request's headers; repeated headers come back joined by commas.</summary>
public interface IApiHeaders
{
    string? Get(string name);
}

/// <summary>
/// A complete response: status, the exact body bytes and their CRC32 (sent as <c>x-amz-crc32</c>; boto3 verifies it).
/// The body may live in a pooled buffer: dispose the response once it has been written.
/// </summary>
public sealed class ApiResponse : IDisposable
{
    public const string JsonContentType = Operations.ApiService.Json10;

    private byte[]? _pooled;

    private readonly long _requestNumber;
    private string? _requestId;

    internal ApiResponse(int statusCode, ReadOnlyMemory<byte> body, uint crc32, long requestNumber, byte[]? pooled, string contentType = JsonContentType)
    {
        ContentType = contentType;
        StatusCode = statusCode;
        Body = body;
        Crc32 = crc32;
        _requestNumber = requestNumber;
        _pooled = pooled;
    }

    public int StatusCode { get; }

    public ReadOnlyMemory<byte> Body { get; }

    public uint Crc32 { get; }

    /// <summary>AWS's 52-character request id; its text is made on first read.</summary>
    public string RequestId => _requestId ??= RequestHandler.FormatRequestId(_requestNumber);

    /// <summary>The JSON protocol of the API that answered: 1.0 for DynamoDB and Streams, 1.1 for Kinesis, DAX and Auto Scaling.</summary>
    public string ContentType { get; }

    public void Dispose()
    {
        var p = Interlocked.Exchange(ref _pooled, null);
        if (p != null) System.Buffers.ArrayPool<byte>.Shared.Return(p);
    }
}
