using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Host;

/// <summary>
/// DynamoDB's HTTP front end around the API, over raw HTTP: the health answer of GET /, CORS for pages, compressed
/// request bodies and compressed answers, and DescribeEndpoints naming the address the client used.
/// </summary>
[Collection(SharedHostCollection.Name)]
public sealed class HttpEdgeTests(SharedHostFixture fixture)
{
    private const string Origin = "http://app.example";
    private readonly HostProcess _host = fixture.Host;

    [Fact]
    public async Task GetRoot_AnswersTheHealthLine()
    {
        using var http = _host.CreateHttpClient();
        using var response = await http.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy: dynamodb.us-east-1.amazonaws.com ", await response.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Preflight_AllowsWhatThePageAsksFor()
    {
        using var http = _host.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Options, "/");
        request.Headers.Add("Origin", Origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type,x-amz-target,x-amz-date,authorization,amz-sdk-invocation-id");
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
        Assert.Equal("POST", Header(response, "Access-Control-Allow-Methods"));
        Assert.Equal("content-type,x-amz-target,x-amz-date,authorization,amz-sdk-invocation-id", Header(response, "Access-Control-Allow-Headers"));
        Assert.Equal("x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date", Header(response, "Access-Control-Expose-Headers"));
        Assert.Equal("172800", Header(response, "Access-Control-Max-Age"));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task PageRequests_GetCorsHeaders_OnSuccessAndOnError()
    {
        using var http = _host.CreateHttpClient();
        foreach (var target in new[] { "DynamoDB_20120810.ListTables", RawApi.UnknownTarget })
        {
            using var request = Post(target, Encoding.UTF8.GetBytes("{}"));
            request.Headers.Add("Origin", Origin);
            using var response = await http.SendAsync(request);
            Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
            Assert.Equal("x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date", Header(response, "Access-Control-Expose-Headers"));
        }

        // Without Origin (SDKs, the CLI) there are none.
        using var plain = Post("DynamoDB_20120810.ListTables", Encoding.UTF8.GetBytes("{}"));
        using var answer = await http.SendAsync(plain);
        Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("raw-deflate")]
    public async Task CompressedRequestBodies_AreDecoded(string coding)
    {
        var table = await CreateTableAsync();
        var put = JsonSerializer.SerializeToUtf8Bytes(new { TableName = table, Item = new { pk = new { S = "k-" + coding }, v = new { S = new string('x', 500) } } });
        using var http = _host.CreateHttpClient();
        using var request = Post("DynamoDB_20120810.PutItem", Compress(put, coding));
        request.Content!.Headers.ContentEncoding.Add(coding == "raw-deflate" ? "deflate" : coding);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        using var client = _host.CreateClient();
        var item = await client.GetItemAsync(new GetItemRequest { TableName = table, Key = new() { ["pk"] = new AttributeValue { S = "k-" + coding } }, ConsistentRead = true });
        Assert.Equal(new string('x', 500), item.Item["v"].S);
    }

    [Fact]
    public async Task UndecodableCompressedBody_IsASerializationException()
    {
        using var http = _host.CreateHttpClient();
        using var request = Post("DynamoDB_20120810.ListTables", Encoding.UTF8.GetBytes("{} is not gzip"));
        request.Content!.Headers.ContentEncoding.Add("gzip");
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("com.amazon.coral.service#SerializationException", body.RootElement.GetProperty("__type").GetString());
    }

    [Fact]
    public async Task CompressedBody_ThatExpandsPastTheRequestLimit_IsRefused()
    {
        // 17 MB of spaces inside a JSON string compress to a few KB: the limit applies to what it decodes to.
        var json = new byte[17 * 1024 * 1024];
        json.AsSpan().Fill((byte)' ');
        json[0] = (byte)'{';
        json[^1] = (byte)'}';
        using var http = _host.CreateHttpClient();
        using var request = Post("DynamoDB_20120810.ListTables", Compress(json, "gzip"));
        request.Content!.Headers.ContentEncoding.Add("gzip");
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task UnknownContentCoding_IsTakenAsSent()
    {
        // Older AWS SDKs label plain JSON "amz-1.0".
        using var http = _host.CreateHttpClient();
        using var request = Post("DynamoDB_20120810.ListTables", Encoding.UTF8.GetBytes("{}"));
        request.Content!.Headers.ContentEncoding.Add("amz-1.0");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task LargeAnswers_AreGzipped_WhenAccepted_WithTheCrc32OfTheBytesSent()
    {
        var table = await CreateTableAsync();
        using var client = _host.CreateClient();
        for (var i = 0; i < 20; i++)
            await client.PutItemAsync(table, new() { ["pk"] = new AttributeValue { S = $"k{i}" }, ["v"] = new AttributeValue { S = new string((char)('a' + i), 1000) } });

        var scan = Encoding.UTF8.GetBytes($$"""{"TableName":"{{table}}"}""");
        using var http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = new Uri(_host.ServiceUrl) };
        using var request = Post("DynamoDB_20120810.Scan", scan);
        request.Headers.AcceptEncoding.ParseAdd("gzip");
        using var response = await http.SendAsync(request);
        var wire = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
        Assert.Equal(TestCrc32.Compute(wire), uint.Parse(Header(response, "x-amz-crc32")!, NumberStyles.None, CultureInfo.InvariantCulture));
        using var decoded = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(wire), CompressionMode.Decompress)) await gzip.CopyToAsync(decoded);
        using var json = JsonDocument.Parse(decoded.ToArray());
        Assert.Equal(20, json.RootElement.GetProperty("Count").GetInt32());

        // A small answer, or a client that does not ask, gets the body as it is.
        using var small = Post("DynamoDB_20120810.ListTables", Encoding.UTF8.GetBytes("""{"Limit":1}"""));
        small.Headers.AcceptEncoding.ParseAdd("gzip");
        using var smallAnswer = await http.SendAsync(small);
        Assert.Empty(smallAnswer.Content.Headers.ContentEncoding);
        using var refused = Post("DynamoDB_20120810.Scan", scan);
        refused.Headers.AcceptEncoding.ParseAdd("gzip;q=0");
        using var refusedAnswer = await http.SendAsync(refused);
        Assert.Empty(refusedAnswer.Content.Headers.ContentEncoding);
    }

    [Fact]
    public async Task DescribeEndpoints_NamesTheAddressTheClientUsed()
    {
        using var client = _host.CreateClient();
        var response = await client.DescribeEndpointsAsync(new DescribeEndpointsRequest());

        var endpoint = Assert.Single(response.Endpoints);
        Assert.Equal($"127.0.0.1:{_host.Port}", endpoint.Address);
        Assert.Equal(1440, endpoint.CachePeriodInMinutes);
    }

    private async Task<string> CreateTableAsync()
    {
        var name = "edge-" + Guid.NewGuid().ToString("N")[..8];
        using var client = _host.CreateClient();
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name,
            KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
            BillingMode = BillingMode.PAY_PER_REQUEST,
        });
        return name;
    }

    private static HttpRequestMessage Post(string target, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", RawApi.ContentType);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        request.Headers.TryAddWithoutValidation("Authorization", RawApi.FakeAuthorization);
        request.Headers.TryAddWithoutValidation("X-Amz-Date", "20260101T000000Z");
        return request;
    }

    private static byte[] Compress(byte[] data, string coding)
    {
        using var output = new MemoryStream();
        using (Stream stream = coding switch
        {
            "gzip" => new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "deflate" => new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true),
            _ => new DeflateStream(output, CompressionLevel.Fastest, leaveOpen: true),
        })
        {
            stream.Write(data);
        }

        return output.ToArray();
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(",", values) : null;
}
