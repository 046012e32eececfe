using System.Globalization;
using Microsoft.AspNetCore.Http;
using Serverless.Engine.Protocol;

namespace Serverless.Functions.Http;

/// <summary>Maps ASP.NET Core's request and response to the engine's <see cref="ApiRequest"/>/<see cref="ApiResponse"/>.</summary>
public static class ApiHttp
{
    public static ApiRequest ToApiRequest(HttpRequest request)
    {
        var headers = request.Headers;
        return new ApiRequest(
            Target: headers["X-Amz-Target"].ToString(),
            Authorization: headers.Authorization.ToString(),
            ContentLength: request.ContentLength,
            Body: request.Body,
            ContentType: request.ContentType,
            AmzDate: headers["X-Amz-Date"].ToString());
    }

    /// <summary>Writes status, headers and the exact body bytes; <c>x-amz-crc32</c> is the CRC32 boto3 verifies.</summary>
    public static async Task WriteAsync(HttpResponse http, ApiResponse response, CancellationToken cancellationToken)
    {
        http.StatusCode = response.StatusCode;
        http.ContentType = response.ContentType;
        http.ContentLength = response.Body.Length;
        var headers = http.Headers;
        headers["x-amzn-RequestId"] = response.RequestId;
        headers["x-amz-crc32"] = response.Crc32.ToString(CultureInfo.InvariantCulture);
        await http.BodyWriter.WriteAsync(response.Body, cancellationToken);
    }
}
