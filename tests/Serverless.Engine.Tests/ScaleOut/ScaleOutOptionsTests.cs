using System.Net;
using Serverless.ScaleOut;

namespace Serverless.Engine.Tests.ScaleOut;

/// <summary>The silo's advertised endpoint: App Service's private address and ports when set, else loopback and the configured ports.</summary>
public sealed class ScaleOutOptionsTests
{
    [Fact]
    public void EndpointFrom_WithoutAppServiceSettings_IsLoopbackAndTheConfiguredPorts()
    {
        var options = new ScaleOutOptions { SiloPort = 12000, GatewayPort = 12001 };
        Assert.Equal((IPAddress.Loopback, 12000, 12001), options.EndpointFrom(null, null));
    }

    [Fact]
    public void EndpointFrom_WithAppServiceSettings_TakesThePrivateAddressAndTheFirstTwoPrivatePorts()
    {
        var options = new ScaleOutOptions { SiloPort = 12000, GatewayPort = 12001 };
        Assert.Equal((IPAddress.Parse("10.0.1.4"), 20001, 20002), options.EndpointFrom("10.0.1.4", "20001, 20002,20003"));
        Assert.Equal((IPAddress.Parse("10.0.1.4"), 20001, 12001), options.EndpointFrom("10.0.1.4", "20001"));
    }

    [Theory]
    [InlineData("10.0.1.4", "20001,x")]
    [InlineData("10.0.1.4", "70000")]
    [InlineData("10.0.1.4", "0,20002")]
    [InlineData("not-an-address", "20001")]
    public void EndpointFrom_MalformedAppServiceSettings_FailStartUpNamingTheSetting(string ip, string ports)
    {
        var error = Assert.Throws<ArgumentException>(() => new ScaleOutOptions().EndpointFrom(ip, ports));
        Assert.Contains(ip == "not-an-address" ? "WEBSITE_PRIVATE_IP 'not-an-address'" : $"WEBSITE_PRIVATE_PORTS '{ports}'", error.Message, StringComparison.Ordinal);
    }
}
