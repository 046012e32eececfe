using System.Globalization;
using System.Net;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Host;

/// <summary>The wire protocol of the HTTP function as served by the local host.</summary>
[Collection(SharedHostCollection.Name)]
public sealed class ProtocolTests(SharedHostFixture fixture)
{
    private readonly HostProcess _host = fixture.Host;

    [Fact]
    public async Task UnknownTarget_Returns400UnknownOperationException()
    {
        using var http = _host.CreateHttpClient();

        var response = await RawApi.PostAsync(http, RawApi.UnknownTarget, "{}");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("com.amazon.coral.service#UnknownOperationException", response.ErrorType());
        Assert.Equal(RawApi.ContentType, response.ContentHeaders.ContentType?.ToString());
    }

    [Fact]
    public async Task Response_CarriesCrc32OfExactBodyBytes()
    {
        using var http = _host.CreateHttpClient();

        var response = await RawApi.PostAsync(http, RawApi.UnknownTarget, "{}");

        var header = response.Header("x-amz-crc32");
        Assert.NotNull(header);
        Assert.Equal(TestCrc32.Compute(response.Body), uint.Parse(header, NumberStyles.None, CultureInfo.InvariantCulture));
        Assert.Equal(response.Body.Length, response.ContentHeaders.ContentLength);
    }

    [Fact]
    public async Task Response_CarriesDistinctRequestIds()
    {
        using var http = _host.CreateHttpClient();

        var first = await RawApi.PostAsync(http, RawApi.UnknownTarget, "{}");
        var second = await RawApi.PostAsync(http, RawApi.UnknownTarget, "{}");

        Assert.False(string.IsNullOrEmpty(first.Header("x-amzn-RequestId")));
        Assert.NotEqual(first.Header("x-amzn-RequestId"), second.Header("x-amzn-RequestId"));
    }

    [Fact]
    public async Task Response_HasNoServerHeader()
    {
        using var http = _host.CreateHttpClient();

        var response = await RawApi.PostAsync(http, RawApi.UnknownTarget, "{}");

        Assert.Empty(response.Headers.Server);
    }

    [Theory]
    [InlineData("PUT", "/")]
    [InlineData("POST", "/api")]
    [InlineData("POST", "/no/such/function")]
    public async Task RequestOutsideTheApiRoute_Returns404(string method, string path)
    {
        using var http = _host.CreateHttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task AwsSdk_ReachesTheHostAndParsesItsAnswer()
    {
        using var client = _host.CreateClient();

        // Whether ListTables is implemented yet or not, the SDK must get a well-formed DynamoDB answer back.
        try
        {
            var tables = await client.ListTablesAsync(new ListTablesRequest());
            Assert.Equal(HttpStatusCode.OK, tables.HttpStatusCode);
        }
        catch (AmazonDynamoDBException e)
        {
            Assert.Equal(HttpStatusCode.BadRequest, e.StatusCode);
            Assert.False(string.IsNullOrEmpty(e.ErrorCode));
            Assert.False(string.IsNullOrEmpty(e.RequestId));
        }
    }

    [Fact]
    public async Task ConcurrentRequests_AllAnswered()
    {
        using var http = _host.CreateHttpClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => RawApi.PostAsync(http, RawApi.UnknownTarget, "{}")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.BadRequest, r.Status));
        Assert.Equal(64, responses.Select(r => r.Header("x-amzn-RequestId")).Distinct().Count());
    }

    internal static async Task AssertServesAsync(HostProcess host)
    {
        using var http = host.CreateHttpClient();
        var response = await RawApi.PostAsync(http, RawApi.UnknownTarget, "{}");
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.EndsWith("#UnknownOperationException", response.ErrorType(), StringComparison.Ordinal);
    }
}
