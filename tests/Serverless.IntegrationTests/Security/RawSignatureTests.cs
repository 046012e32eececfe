using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Security.SignedRequests;

namespace Serverless.IntegrationTests.Security;

/// <summary>
/// Raw requests signed by the tests' own signer, then broken one way at a time: each gets DynamoDB's error type,
/// message and status. The correctly signed one passing cross-checks the signer against the engine's verifier.
/// </summary>
[Collection(KeyedHostCollection.Name)]
public sealed partial class RawSignatureTests(KeyedHostFixture fixture) : IDisposable
{
    private static readonly SigV4Key Alice = KeyedHostFixture.Alice;
    private readonly HttpClient _http = fixture.Host.CreateHttpClient();

    private HostProcess Host => fixture.Host;

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task CorrectlySigned_IsServed()
    {
        var (status, _, _) = await SendAsync(_http, Create(Host, Alice, Now()));
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _, _) = await SendAsync(_http, Create(Host, KeyedHostFixture.Bob, Now()));
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task GzipBody_IsVerifiedOverTheBytesAsSent()
    {
        var json = "{\"Limit\":5}"u8.ToArray();
        using var zipped = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(zipped, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(json);
        var sent = zipped.ToArray();

        HttpRequestMessage Gzipped(byte[] signedOver)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Host.ServiceUrl + "/")) { Content = new ByteArrayContent(sent) };
            request.Content.Headers.TryAddWithoutValidation("Content-Type", RawApi.ContentType);
            request.Content.Headers.ContentEncoding.Add("gzip");
            request.Headers.TryAddWithoutValidation("X-Amz-Target", ListTables);
            SigV4Signer.Sign(request, signedOver, Alice, "us-east-1", "dynamodb", Now());
            return request;
        }

        // Signed over the compressed bytes, as SDKs that compress sign it: served.
        var (status, _, _) = await SendAsync(_http, Gzipped(sent));
        Assert.Equal(HttpStatusCode.OK, status);

        // Signed over the JSON it decodes to: the signature does not cover what was sent.
        var (_, type, _) = await SendAsync(_http, Gzipped(json));
        Assert.Equal("com.amazon.coral.service#InvalidSignatureException", type);
    }

    [Fact]
    public Task Unsigned_IsMissingAuthenticationToken() =>
        AssertErrorAsync(_http, Unsigned(Host), "MissingAuthenticationTokenException", "Request is missing Authentication Token");

    [Fact]
    public Task OtherScheme_IsMissingAuthenticationToken() =>
        AssertErrorAsync(_http, Create(Host, Alice, Now(), alter: r => SetHeader(r, "Authorization", "Basic YWxpY2U6c2VjcmV0")),
            "MissingAuthenticationTokenException", "Request is missing Authentication Token");

    [Theory]
    [InlineData("Credential")]
    [InlineData("Signature")]
    [InlineData("SignedHeaders")]
    public async Task MissingParameter_IsIncompleteSignature(string parameter)
    {
        string? header = null;
        var request = Create(Host, Alice, Now(), alter: r =>
        {
            var parts = Authorization(r)["AWS4-HMAC-SHA256 ".Length..].Split(", ").Where(p => !p.StartsWith(parameter + "=", StringComparison.Ordinal));
            header = "AWS4-HMAC-SHA256 " + string.Join(", ", parts);
            SetHeader(r, "Authorization", header);
        });
        await AssertErrorAsync(_http, request, "IncompleteSignatureException", $"Authorization header requires '{parameter}' parameter. Authorization={header}");
    }

    [Fact]
    public async Task MissingDate_IsIncompleteSignature()
    {
        string? header = null;
        var request = Create(Host, Alice, Now(), alter: r =>
        {
            r.Headers.Remove("X-Amz-Date");
            header = Authorization(r);
        });
        await AssertErrorAsync(_http, request, "IncompleteSignatureException",
            $"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={header}");
    }

    [Fact]
    public Task Garbage_IsIncompleteSignature() =>
        AssertErrorAsync(_http, Create(Host, Alice, Now(), alter: r => SetHeader(r, "Authorization", "AWS4-HMAC-SHA256 garbage")),
            "IncompleteSignatureException", "'garbage' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 garbage'.");

    [Fact]
    public Task BadDate_IsIncompleteSignature() =>
        AssertErrorAsync(_http, Create(Host, Alice, Now(), alter: r => SetHeader(r, "X-Amz-Date", "yesterday")),
            "IncompleteSignatureException", "Date must be in ISO-8601 'basic format'. Got 'yesterday'. See http://en.wikipedia.org/wiki/ISO_8601");

    [Fact]
    public Task WrongService_IsInvalidSignature() =>
        AssertErrorAsync(_http, Create(Host, Alice, Now(), service: "s3"), "InvalidSignatureException", "Credential should be scoped to correct service: 'dynamodb'. ");

    [Fact]
    public Task WrongServiceAndRegion_ListsBoth() =>
        AssertErrorAsync(_http, Create(Host, Alice, Now(), service: "s3", region: "Not:A_Region"), "InvalidSignatureException",
            "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'dynamodb'. ");

    [Fact]
    public async Task ScopeDateMismatch_IsInvalidSignature()
    {
        var now = Now();
        var request = Create(Host, Alice, now, alter: r => SetHeader(r, "Authorization", Authorization(r).Replace($"/{Stamp(now)[..8]}/", "/20200101/", StringComparison.Ordinal)));
        await AssertErrorAsync(_http, request, "InvalidSignatureException",
            $"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20200101' != '{Stamp(now)[..8]}', from '{Stamp(now)}'.");
    }

    [Fact]
    public Task WrongSecret_IsSignatureMismatch() =>
        AssertErrorAsync(_http, Create(Host, Alice with { SecretAccessKey = "wrong" }, Now()), "InvalidSignatureException", Mismatch);

    [Fact]
    public Task BodyChangedAfterSigning_IsSignatureMismatch() =>
        AssertErrorAsync(_http, Create(Host, Alice, Now(), body: "{}", sentBody: """{"Limit":1}"""), "InvalidSignatureException", Mismatch);

    [Fact]
    public Task ContentSha256OfAnotherBody_IsSignatureMismatch() =>
        AssertErrorAsync(_http, Create(Host, Alice, Now(), alter: r => SetHeader(r, "X-Amz-Content-Sha256", new string('0', 64))), "InvalidSignatureException", Mismatch);

    [Fact]
    public Task UnknownKey_IsUnrecognizedClient() =>
        AssertErrorAsync(_http, Create(Host, Alice with { AccessKeyId = "AKIANOBODY000EXAMPLE" }, Now()), "UnrecognizedClientException",
            "The security token included in the request is invalid.");

    [Fact]
    public async Task PastDate_IsSignatureExpired()
    {
        var signed = Now().AddMinutes(-20);
        var before = Now();
        var (status, type, message) = await SendAsync(_http, Create(Host, Alice, signed));
        AssertSkew(status, type, message, before, Now(), expired: true, signed);
    }

    [Fact]
    public async Task FutureDate_IsSignatureNotYetCurrent()
    {
        var signed = Now().AddMinutes(20);
        var before = Now();
        var (status, type, message) = await SendAsync(_http, Create(Host, Alice, signed));
        AssertSkew(status, type, message, before, Now(), expired: false, signed);
    }

    /// <summary>
    /// "Signature expired: T is now earlier than N-15 (N - 15 min.)" (or "not yet current ... still later than N+15
    /// (N + 15 min.)"), N being the host's clock, which lies between <paramref name="from"/> and <paramref name="to"/>.
    /// </summary>
    internal static void AssertSkew(HttpStatusCode status, string type, string message, DateTime from, DateTime to, bool expired, DateTime signed)
    {
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("com.amazon.coral.service#InvalidSignatureException", type);
        var match = (expired ? ExpiredPattern() : NotYetPattern()).Match(message);
        Assert.True(match.Success, message);
        Assert.Equal(Stamp(signed), match.Groups["t"].Value);
        var now = DateTime.ParseExact(match.Groups["now"].Value, SigV4Signer.DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        Assert.InRange(now, from.AddSeconds(-1), to.AddSeconds(1));
        Assert.Equal(Stamp(expired ? now.AddMinutes(-15) : now.AddMinutes(15)), match.Groups["bound"].Value);
    }

    private const string Mismatch =
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

    [GeneratedRegex(@"^Signature expired: (?<t>\d{8}T\d{6}Z) is now earlier than (?<bound>\d{8}T\d{6}Z) \((?<now>\d{8}T\d{6}Z) - 15 min\.\)$")]
    private static partial Regex ExpiredPattern();

    [GeneratedRegex(@"^Signature not yet current: (?<t>\d{8}T\d{6}Z) is still later than (?<bound>\d{8}T\d{6}Z) \((?<now>\d{8}T\d{6}Z) \+ 15 min\.\)$")]
    private static partial Regex NotYetPattern();
}
