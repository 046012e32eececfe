using System.Net;
using System.Text.Json;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Security;

/// <summary>In Verify mode the local host's /admin routes need a signature of a configured key, like the API.</summary>
[Collection(KeyedHostCollection.Name)]
public sealed class AdminAuthenticationTests(KeyedHostFixture fixture)
{
    [Theory]
    [InlineData("GET", "/admin/metrics")]
    [InlineData("POST", "/admin/clock/advance/0")]
    [InlineData("POST", "/admin/functions/TtlSweep")]
    [InlineData("GET", "/admin/no-such-route")]
    public async Task Unsigned_IsMissingAuthenticationToken(string method, string path)
    {
        using var http = fixture.Host.CreateHttpClient();
        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        await AssertErrorAsync(response, "MissingAuthenticationTokenException", "Request is missing Authentication Token");
    }

    [Fact]
    public async Task Signed_AreServed()
    {
        // HostProcess signs admin calls with the host's first key.
        using (var metrics = await fixture.Host.SendAdminAsync(HttpMethod.Get, "/admin/metrics"))
        {
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            using var json = JsonDocument.Parse(await metrics.Content.ReadAsStringAsync());
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        }

        using (var run = await fixture.Host.SendAdminAsync(HttpMethod.Post, "/admin/functions/TtlSweep", "{}"u8.ToArray()))
            Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
        await fixture.Host.AdvanceClockAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task AnyServiceName_IsAccepted_ButTheSecretMustBeRight()
    {
        using var http = fixture.Host.CreateHttpClient();
        foreach (var service in new[] { "admin", "execute-api" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Host.ServiceUrl + "/admin/metrics"));
            SigV4Signer.Sign(request, [], KeyedHostFixture.Bob, "us-east-1", service, DateTime.UtcNow);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var wrong = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Host.ServiceUrl + "/admin/metrics"));
        SigV4Signer.Sign(wrong, [], KeyedHostFixture.Alice with { SecretAccessKey = "wrong" }, "us-east-1", "admin", DateTime.UtcNow);
        using var denied = await http.SendAsync(wrong);
        await AssertErrorAsync(denied, "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, string type, string message)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("com.amazon.coral.service#" + type, json.RootElement.GetProperty("__type").GetString());
        Assert.Equal(message, json.RootElement.GetProperty("message").GetString());
    }
}
