using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Security.SignedRequests;

namespace Serverless.IntegrationTests.Security;

/// <summary>The 15-minute window is measured against the host's injected clock: moving it makes a fresh signature expire.</summary>
public sealed class ClockSkewTests
{
    [Fact]
    public async Task HostClockMovedOn_MakesANowSignatureExpired()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { InMemory = true, Environment = KeyedHostFixture.Environment() });
        using var http = host.CreateHttpClient();
        var (status, _, _) = await SendAsync(http, Create(host, KeyedHostFixture.Alice, Now()));
        Assert.Equal(System.Net.HttpStatusCode.OK, status);

        await host.AdvanceClockAsync(TimeSpan.FromMinutes(16)); // a signed admin call itself
        var signed = Now();
        var (s, type, message) = await SendAsync(http, Create(host, KeyedHostFixture.Alice, signed));
        RawSignatureTests.AssertSkew(s, type, message, signed.AddMinutes(16), Now().AddMinutes(16), expired: true, signed);

        // Signed at the host's time, it is current again.
        (status, _, _) = await SendAsync(http, Create(host, KeyedHostFixture.Alice, Now() + host.ClockOffset));
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
    }
}
