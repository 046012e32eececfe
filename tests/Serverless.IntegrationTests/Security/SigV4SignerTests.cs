using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Security;

/// <summary>The tests' signer against AWS's published SigV4 test-suite vectors (aws-sig-v4-test-suite).</summary>
public sealed class SigV4SignerTests
{
    private const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private const string Scope = "20150830/us-east-1/service/aws4_request";
    private const string EmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Theory]
    [InlineData("GET", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")] // get-vanilla
    [InlineData("GET", "Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")] // get-vanilla-query-order-key-case
    [InlineData("POST", "", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")] // post-vanilla
    public void Vectors(string method, string query, string signature)
    {
        var headers = new Dictionary<string, string> { ["host"] = "example.amazonaws.com", ["x-amz-date"] = "20150830T123600Z" };
        var canonical = SigV4Signer.CanonicalRequest(method, "/", query, headers, "host;x-amz-date", EmptyHash);
        Assert.Equal(signature, SigV4Signer.Signature(Secret, "20150830T123600Z", Scope, canonical));
    }

    [Fact]
    public void GetVanilla_CanonicalRequest_IsAwsPublishedOne()
    {
        var headers = new Dictionary<string, string> { ["host"] = "example.amazonaws.com", ["x-amz-date"] = "20150830T123600Z" };
        Assert.Equal("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + EmptyHash,
            SigV4Signer.CanonicalRequest("GET", "/", "", headers, "host;x-amz-date", EmptyHash));
    }
}
