using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Serverless.IntegrationTests.Infrastructure;

/// <summary>A DynamoDB response as received on the wire.</summary>
public sealed record RawResponse(HttpStatusCode Status, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders, byte[] Body)
{
    public string? Header(string name) =>
        Headers.TryGetValues(name, out var values) || ContentHeaders.TryGetValues(name, out values) ? string.Join(",", values) : null;

    public JsonElement Json() => JsonDocument.Parse(Body).RootElement.Clone();

    public string ErrorType() => Json().GetProperty("__type").GetString() ?? "";
}

/// <summary>Raw HTTP access to the DynamoDB endpoint, below any SDK, for protocol-level tests.</summary>
public static class RawApi
{
    public const string ContentType = "application/x-amz-json-1.0";

    /// <summary>A target that no version of the engine will implement.</summary>
    public const string UnknownTarget = "DynamoDB_20120810.NoSuchOperation";

    /// <summary>A syntactically valid SigV4 header with fake credentials (signature not computed).</summary>
    public const string FakeAuthorization =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

    public static Task<RawResponse> PostAsync(HttpClient client, string? target, string body, string contentType = ContentType) =>
        PostAsync(client, target, Encoding.UTF8.GetBytes(body), contentType);

    /// <summary>Posts <paramref name="body"/> byte for byte (bodies that are not valid UTF-8, for bad-input tests).</summary>
    public static async Task<RawResponse> PostAsync(HttpClient client, string? target, byte[] body, string contentType = ContentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        if (target is not null) request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        request.Headers.TryAddWithoutValidation("Authorization", FakeAuthorization);
        request.Headers.TryAddWithoutValidation("X-Amz-Date", "20260101T000000Z");
        using var response = await client.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return new RawResponse(response.StatusCode, response.Headers, response.Content.Headers, bytes);
    }

    /// <summary>Writes <paramref name="bytes"/> on a fresh TCP connection and returns whatever comes back until the server closes or goes quiet.</summary>
    public static async Task<string> SendBytesAsync(int port, byte[] bytes, bool closeAfterSend = false, TimeSpan? readFor = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await socket.SendAsync(bytes);
        if (closeAfterSend)
        {
            socket.Shutdown(SocketShutdown.Both);
            return "";
        }

        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(readFor ?? TimeSpan.FromSeconds(5));
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) break;
                received.Write(buffer, 0, n);
                if (LooksComplete(received)) break;
            }
        }
        catch (OperationCanceledException)
        {
            // the server kept the connection open; what arrived is the answer
        }
        catch (SocketException)
        {
            // reset after the answer
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static bool LooksComplete(MemoryStream received)
    {
        var text = Encoding.ASCII.GetString(received.GetBuffer(), 0, (int)received.Length);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0) return false;
        var headers = text[..end];
        var lengthLine = headers.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return lengthLine is not null && int.TryParse(lengthLine["Content-Length:".Length..].Trim(), out var length) && text.Length - end - 4 >= length;
    }
}
