using System.Net;
using System.Text;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Host;

/// <summary>Garbage, truncated and oversized input must be answered (or dropped) without hurting the host.</summary>
[Collection(SharedHostCollection.Name)]
public sealed class MalformedRequestTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [Fact]
    public async Task GarbageInsteadOfHttp_Gets400_AndHostKeepsServing()
    {
        var answer = await RawApi.SendBytesAsync(_host.Port, Encoding.ASCII.GetBytes("\x01\x02 NOT HTTP AT ALL\r\n\r\n"));

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        await ProtocolTests.AssertServesAsync(_host);
    }

    [Fact]
    public async Task BodyCutShortByClient_HostKeepsServing()
    {
        var request = "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: " + RawApi.UnknownTarget +
                      "\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 1000\r\n\r\n{\"TableName\":";

        await RawApi.SendBytesAsync(_host.Port, Encoding.ASCII.GetBytes(request), closeAfterSend: true);

        await ProtocolTests.AssertServesAsync(_host);
        Assert.True(!_host.HasExited, _host.Output);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"unterminated\": ")]
    public async Task NonJsonBody_Gets4xxDynamoError(string body)
    {
        using var http = _host.CreateHttpClient();

        var response = await RawApi.PostAsync(http, RawApi.UnknownTarget, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains('#', response.ErrorType());
    }

    [Fact]
    public async Task MissingTarget_Gets400()
    {
        using var http = _host.CreateHttpClient();

        var response = await RawApi.PostAsync(http, target: null, "{}");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains('#', response.ErrorType());
    }

    [Fact]
    public async Task DeclaredBodyOverTheLimit_Gets413WithoutSendingIt()
    {
        var request = "POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: " + RawApi.UnknownTarget +
                      "\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: " + (64L * 1024 * 1024) + "\r\n\r\n{";

        var answer = await RawApi.SendBytesAsync(_host.Port, Encoding.ASCII.GetBytes(request));

        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Contains("RequestEntityTooLargeException", answer, StringComparison.Ordinal);
        await ProtocolTests.AssertServesAsync(_host);
    }
}
