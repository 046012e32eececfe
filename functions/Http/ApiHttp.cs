using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Serverless.Engine.Protocol;

namespace Serverless.Functions.Http;

/// <summary>Maps ASP.NET Core's request and response to the engine's <see cref="ApiRequest"/>/<see cref="ApiResponse"/>.</summary>
public static class ApiHttp
{
    /// <summary>
    /// The engine's view of <paramref name="request"/>. With <paramref name="forSignature"/> (the engine verifies
    /// signatures) it also carries the method, the path and query exactly as sent, and every header.
    /// </summary>
    public static ApiRequest ToApiRequest(HttpRequest request, bool forSignature = false)
    {
        var headers = request.Headers;
        var api = new ApiRequest(
            Target: headers["X-Amz-Target"].ToString(),
            Authorization: headers.Authorization.ToString(),
            ContentLength: request.ContentLength,
            Body: request.Body,
            ContentType: request.ContentType,
            AmzDate: headers["X-Amz-Date"].ToString(),
            ContentEncoding: headers.ContentEncoding.Count == 0 ? null : headers.ContentEncoding.ToString(),
            Host: request.Host.Value,
            Https: request.IsHttps);
        if (!forSignature) return api;

        // The raw target keeps the client's percent-encoding, which the canonical request is built from.
        var raw = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        string path, query;
        if (!string.IsNullOrEmpty(raw) && raw[0] == '/')
        {
            var q = raw.IndexOf('?');
            path = q < 0 ? raw : raw[..q];
            query = q < 0 ? "" : raw[(q + 1)..];
        }
        else
        {
            path = (request.PathBase + request.Path).ToUriComponent();
            query = request.QueryString.HasValue ? request.QueryString.Value![1..] : "";
        }

        return api with { Method = request.Method, RawPath = path, RawQuery = query, Headers = new HeaderLookup(headers) };
    }

    /// <summary>The cluster a request was sent to: the last segment of <c>/dax/{cluster}</c>.</summary>
    public static string ClusterOf(HttpRequest request)
    {
        var path = request.Path.Value ?? "";
        var end = path.Length;
        while (end > 0 && path[end - 1] == '/') end--;
        var start = path.LastIndexOf('/', Math.Max(end - 1, 0)) + 1;
        return path[start..end];
    }

    /// <summary>The engine's header lookup over ASP.NET Core's headers; repeated values are joined by commas.</summary>
    private sealed class HeaderLookup(IHeaderDictionary headers) : IApiHeaders
    {
        public string? Get(string name) => headers.TryGetValue(name, out var values) ? values.ToString() : null;
    }

    /// <summary>
    /// Writes status, headers and the exact body bytes; <c>x-amz-crc32</c> is the CRC32 boto3 verifies. A browser's
    /// request (one with <c>Origin</c>) gets DynamoDB's CORS headers; a large answer to a client that accepts gzip
    /// is compressed, with the CRC32 of the compressed bytes, as DynamoDB sends it.
    /// </summary>
    public static async Task WriteAsync(HttpResponse http, ApiResponse response, CancellationToken cancellationToken)
    {
        http.StatusCode = response.StatusCode;
        http.ContentType = response.ContentType;
        var headers = http.Headers;
        headers["x-amzn-RequestId"] = response.RequestId;
        var requestHeaders = http.HttpContext.Request.Headers;
        if (requestHeaders.Origin.Count > 0) AddCorsHeaders(headers);
        if (response.Body.Length >= HttpEdge.CompressFromBytes && requestHeaders.AcceptEncoding.Count > 0
            && HttpEdge.AcceptsGzip(requestHeaders.AcceptEncoding.ToString()))
        {
            var (gzip, crc) = HttpEdge.Gzip(response.Body.Span);
            headers.ContentEncoding = "gzip";
            headers["x-amz-crc32"] = crc.ToString(CultureInfo.InvariantCulture);
            http.ContentLength = gzip.Length;
            await http.BodyWriter.WriteAsync(gzip, cancellationToken);
            return;
        }

        http.ContentLength = response.Body.Length;
        headers["x-amz-crc32"] = response.Crc32.ToString(CultureInfo.InvariantCulture);
        await http.BodyWriter.WriteAsync(response.Body, cancellationToken);
    }

    /// <summary>The CORS headers of every answer to a page: any origin, and the headers it may read.</summary>
    public static void AddCorsHeaders(IHeaderDictionary headers)
    {
        headers.AccessControlAllowOrigin = HttpEdge.AllowOrigin;
        headers.AccessControlExposeHeaders = HttpEdge.ExposeHeaders;
    }
}
