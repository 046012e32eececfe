using System.Net;
using System.Text;
using System.Text.Json;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Security;

/// <summary>Raw DynamoDB requests, signed by the tests' own signer and then altered, as a hostile client would send them.</summary>
internal static class SignedRequests
{
    public const string ListTables = "DynamoDB_20120810.ListTables";

    /// <summary>A ListTables request signed with <paramref name="key"/> at <paramref name="utc"/>; <paramref name="alter"/> runs after signing.</summary>
    public static HttpRequestMessage Create(HostProcess host, SigV4Key key, DateTime utc, string service = "dynamodb", string region = "us-east-1",
        string body = "{}", string? sentBody = null, Action<HttpRequestMessage>? alter = null)
    {
        var request = NewRequest(host, Encoding.UTF8.GetBytes(body));
        SigV4Signer.Sign(request, Encoding.UTF8.GetBytes(body), key, region, service, utc);
        if (sentBody is not null) request.Content = Content(Encoding.UTF8.GetBytes(sentBody));
        alter?.Invoke(request);
        return request;
    }

    /// <summary>A ListTables request with no signature at all.</summary>
    public static HttpRequestMessage Unsigned(HostProcess host) => NewRequest(host, "{}"u8.ToArray());

    public static void SetHeader(HttpRequestMessage request, string name, string value)
    {
        request.Headers.Remove(name);
        request.Headers.TryAddWithoutValidation(name, value);
    }

    public static string Authorization(HttpRequestMessage request) => string.Join(",", request.Headers.GetValues("Authorization"));

    public static async Task<(HttpStatusCode Status, string Type, string Message)> SendAsync(HttpClient http, HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK) return (response.StatusCode, "", "");
            using var json = JsonDocument.Parse(text);
            var type = json.RootElement.GetProperty("__type").GetString()!;
            var message = json.RootElement.TryGetProperty("message", out var m) ? m.GetString()! : "";
            return (response.StatusCode, type, message);
        }
    }

    public static async Task AssertErrorAsync(HttpClient http, HttpRequestMessage request, string type, string message)
    {
        var (status, actualType, actualMessage) = await SendAsync(http, request);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("com.amazon.coral.service#" + type, actualType);
        Assert.Equal(message, actualMessage);
    }

    public static string Stamp(DateTime utc) => utc.ToString(SigV4Signer.DateFormat, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Now, to the second (as in X-Amz-Date).</summary>
    public static DateTime Now()
    {
        var ticks = DateTime.UtcNow.Ticks;
        return new DateTime(ticks - ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
    }

    private static HttpRequestMessage NewRequest(HostProcess host, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.ServiceUrl + "/")) { Content = Content(body) };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", ListTables);
        return request;
    }

    private static ByteArrayContent Content(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", RawApi.ContentType);
        return content;
    }
}
