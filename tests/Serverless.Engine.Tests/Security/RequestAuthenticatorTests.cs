using Serverless.Engine.Protocol;
using Serverless.Engine.Security;
using Serverless.Engine.Security.Authentication;

namespace Serverless.Engine.Tests.Security;

/// <summary>
/// The verifier against AWS's published SigV4 test-suite vectors (aws-sig-v4-test-suite: key AKIDEXAMPLE, secret
/// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830T123600Z, us-east-1, service "service"), and its checks in order.
/// </summary>
public class RequestAuthenticatorTests
{
    private const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private const string Scope = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    private static readonly DateTimeOffset VectorTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("GET", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")] // get-vanilla
    [InlineData("GET", "Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")] // get-vanilla-query-order-key-case
    [InlineData("GET", "Param1=value1", "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb")] // get-vanilla-empty-query-key
    [InlineData("POST", "", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")] // post-vanilla
    public void PublishedVectors_Verify(string method, string query, string signature)
    {
        var authenticator = Create(VectorTime);
        var caller = authenticator.Authenticate(Vector(method, query, signature), [], "service");
        Assert.Equal("AKIDEXAMPLE", caller.AccessKeyId);
        Assert.Equal("alice", caller.UserName);
    }

    [Fact]
    public void PublishedVector_SignedTwice_UsesTheCachedSigningKey()
    {
        var authenticator = Create(VectorTime);
        var request = Vector("GET", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        Assert.Same(authenticator.Authenticate(request, [], "service"), authenticator.Authenticate(request, [], "service"));
    }

    [Fact]
    public void OneHexDigitChanged_IsASignatureMismatch()
    {
        var e = Fail(Create(VectorTime), Vector("GET", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf30"));
        AssertError(e, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
    }

    [Fact]
    public void UnicodeLookalikeOfTheSignature_IsAMismatch()
    {
        // U+0161 narrows to 'a' (0x61): a byte-narrowing comparison would accept it.
        const string good = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        var e = Fail(Create(VectorTime), Vector("GET", "", good.Replace('a', '\u0161')));
        Assert.Equal("InvalidSignatureException", e.ErrorType);
    }

    [Fact]
    public void SignatureEquals_AgreesWithOrdinalComparison_AtEveryPosition()
    {
        const string good = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        var expected = System.Text.Encoding.ASCII.GetBytes(good);
        Assert.True(RequestAuthenticator.SignatureEquals(expected, good));
        Assert.False(RequestAuthenticator.SignatureEquals(expected, good.AsSpan(0, 63)));
        Assert.False(RequestAuthenticator.SignatureEquals(expected, good + "0"));
        Assert.False(RequestAuthenticator.SignatureEquals(expected, good.ToUpperInvariant()));
        for (var i = 0; i < good.Length; i++)
        {
            foreach (var c in new[] { '0', 'f', 'g', '\0', '\u0100', (char)(good[i] + 0x100), '\uffff' })
            {
                if (c == good[i]) continue;
                var sent = string.Concat(good.AsSpan(0, i), new string(c, 1), good.AsSpan(i + 1));
                Assert.False(RequestAuthenticator.SignatureEquals(expected, sent), $"position {i}, character U+{(int)c:X4}");
            }
        }
    }

    [Fact]
    public void ClockSkew_PastAndFuture_AreRejectedWithAwsMessages()
    {
        var request = Vector("GET", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
        Create(VectorTime.AddMinutes(15)).Authenticate(request, [], "service"); // 15 min is still in range
        AssertError(Fail(Create(VectorTime.AddMinutes(15).AddSeconds(1)), request), "InvalidSignatureException",
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)");
        AssertError(Fail(Create(VectorTime.AddMinutes(-15).AddSeconds(-1)), request), "InvalidSignatureException",
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)");
    }

    [Theory]
    [InlineData(null, "MissingAuthenticationTokenException", "Request is missing Authentication Token")]
    [InlineData("AWS4", "MissingAuthenticationTokenException", "Request is missing Authentication Token")]
    [InlineData("Bearer abc", "MissingAuthenticationTokenException", "Request is missing Authentication Token")]
    [InlineData("AWS4-", "IncompleteSignatureException",
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-")]
    [InlineData("AWS4- Signature=b Credential=a", "IncompleteSignatureException",
        "Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b Credential=a")]
    [InlineData("AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders", "IncompleteSignatureException",
        "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Signature=b,    Credential,    SignedHeaders'.")]
    [InlineData("AWS4-HMAC-SHA256 Credential=" + Scope + ", SignedHeaders=x-amz-date, Signature=00", "InvalidSignatureException",
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    [InlineData("AWS4-HMAC-SHA25 Credential=" + Scope + ", SignedHeaders=host;x-amz-date, Signature=00", "IncompleteSignatureException",
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now). ")]
    [InlineData("AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host;x-amz-date, Signature=00", "IncompleteSignatureException",
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'")]
    [InlineData("AWS4-HMAC-SHA256 Credential=a/b//d/e, SignedHeaders=host;x-amz-date, Signature=00", "InvalidSignatureException",
        "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'service'. Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: 'b' != '20150830', from '20150830T123600Z'.")]
    [InlineData("AWS4-HMAC-SHA256 Credential=NOBODY/20150830/us-east-1/service/aws4_request/, SignedHeaders=host;x-amz-date, Signature=00", "UnrecognizedClientException",
        "The security token included in the request is invalid.")]
    public void MalformedOrForeign_GetsAwsErrorInOrder(string? authorization, string type, string message)
    {
        var request = Vector("GET", "", "unused") with { Authorization = authorization };
        AssertError(Fail(Create(VectorTime), request), type, message);
    }

    [Fact]
    public void MissingDate_IsIncomplete()
    {
        var request = new ApiRequest(null, "AWS4-HMAC-SHA256 Credential=" + Scope + ", SignedHeaders=host, Signature=00", 0, Stream.Null,
            Method: "GET", RawPath: "/", RawQuery: "", Headers: new Headers(("Host", "example.amazonaws.com")));
        AssertError(Fail(Create(VectorTime), request), "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=" + Scope + ", SignedHeaders=host, Signature=00");
    }

    [Fact]
    public void BadDateFormat_IsIncomplete()
    {
        var request = Vector("GET", "", "00") with { Headers = new Headers(("Host", "example.amazonaws.com"), ("X-Amz-Date", "2015/08/30")) };
        AssertError(Fail(Create(VectorTime), request), "IncompleteSignatureException",
            "Date must be in ISO-8601 'basic format'. Got '2015/08/30'. See http://en.wikipedia.org/wiki/ISO_8601");
    }

    [Fact]
    public void BothHeaderAndQuerySignature_IsInvalid()
    {
        var request = Vector("GET", "X-Amz-Algorithm=AWS4-HMAC-SHA256", "00");
        AssertError(Fail(Create(VectorTime), request), "InvalidSignatureException",
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
    }

    [Fact]
    public void PresignedQuery_Verifies_AndATamperedOneDoesNot()
    {
        // Signature computed independently (Python hashlib/hmac) for GET / with these parameters, host signed, empty body.
        const string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request"
            + "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=4a3602dfae68eb3ec2f12f7b26ea9c1f382eb4ec09b477fd962e789af186d525";
        var request = new ApiRequest(null, null, 0, Stream.Null, Method: "GET", RawPath: "/", RawQuery: query, Headers: new Headers(("Host", "example.amazonaws.com")));
        Assert.Equal("AKIDEXAMPLE", Create(VectorTime).Authenticate(request, [], "service").AccessKeyId);
        AssertError(Fail(Create(VectorTime), request with { RawQuery = query.Replace("Expires=300", "Expires=301", StringComparison.Ordinal) }),
            "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
    }

    [Fact]
    public void IncompleteQuerySignature_ListsWhatIsMissing()
    {
        var request = Vector("GET", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20150830T123600Z", "00") with { Authorization = null };
        AssertError(Fail(Create(VectorTime), request), "IncompleteSignatureException",
            "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.");
    }

    [Fact]
    public void DynamoDbTargets_ExpectTheDynamodbSigningName()
    {
        Assert.Equal("dynamodb", SigningNames.ForTarget("DynamoDB_20120810.GetItem"));
        Assert.Equal("dynamodb", SigningNames.ForTarget("DynamoDBStreams_20120810.GetRecords"));
        Assert.Equal("kinesis", SigningNames.ForTarget("Kinesis_20131202.PutRecord"));
        Assert.Null(SigningNames.ForTarget("Unknown_20990101.Op"));
        var request = Vector("GET", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") with { Target = "DynamoDB_20120810.GetItem" };
        AssertError(Fail(Create(VectorTime), request, signingName: "dynamodb"), "InvalidSignatureException", "Credential should be scoped to correct service: 'dynamodb'. ");
    }

    private static RequestAuthenticator Create(DateTimeOffset now)
    {
        var options = new EngineOptions();
        options.Auth.Keys.Add(new AccessKeyOptions { AccessKeyId = "AKIDEXAMPLE", SecretAccessKey = Secret, Principal = "arn:aws:iam::000000000000:user/alice" });
        return new RequestAuthenticator(options, new FixedClock(now));
    }

    private static ApiRequest Vector(string method, string query, string signature) =>
        new(null, $"AWS4-HMAC-SHA256 Credential={Scope}, SignedHeaders=host;x-amz-date, Signature={signature}", 0, Stream.Null,
            Method: method, RawPath: "/", RawQuery: query,
            Headers: new Headers(("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")));

    private static DynamoException Fail(RequestAuthenticator authenticator, ApiRequest request, string? signingName = "service") =>
        Assert.Throws<DynamoException>(() => authenticator.Authenticate(request, [], signingName));

    private static void AssertError(DynamoException e, string type, string message)
    {
        Assert.Equal(type, e.ErrorType);
        Assert.Equal(message, e.Message);
        Assert.Equal(400, e.StatusCode);
    }

    private sealed class Headers(params (string Name, string Value)[] headers) : IApiHeaders
    {
        public string? Get(string name)
        {
            foreach (var (n, v) in headers)
                if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return v;
            return null;
        }
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

/// <summary>
/// Random and hostile inputs straight into the verifier, including paths and (presigned) query strings that the
/// HTTP fuzz does not vary: it either returns a caller or throws one of AWS's errors, nothing else.
/// </summary>
public class RequestAuthenticatorFuzzTests
{
    private static readonly string[] Pieces =
    [
        "AWS4-HMAC-SHA256", " ", ",", "=", "/", ";", "Credential", "Signature", "SignedHeaders", "AKIDEXAMPLE", "20150830", "us-east-1",
        "service", "aws4_request", "host", "x-amz-date", "..", ".", "%", "%2F", "%zz", "&", "?", "X-Amz-Algorithm", "X-Amz-Credential",
        "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Security-Token", "20150830T123600Z", "\u00e9", "\ud83d\ude00",
        "\ud83d", "\u0000", "\t", "0123456789abcdef",
    ];

    [Fact]
    public void RandomInputs_OnlyEverThrowAwsErrors()
    {
        var options = new EngineOptions();
        options.Auth.Keys.Add(new AccessKeyOptions { AccessKeyId = "AKIDEXAMPLE", SecretAccessKey = "s", Principal = "arn:aws:iam::000000000000:user/a", SessionToken = "t" });
        var authenticator = new RequestAuthenticator(options, TimeProvider.System);
        var random = new Random(9);
        for (var i = 0; i < 20_000; i++)
        {
            var request = new ApiRequest(
                random.Next(3) == 0 ? null : "DynamoDB_20120810.GetItem",
                random.Next(8) == 0 ? null : Text(random, 12),
                0,
                Stream.Null,
                Method: random.Next(2) == 0 ? "POST" : Text(random, 2),
                RawPath: random.Next(2) == 0 ? "/" : Text(random, 6),
                RawQuery: random.Next(2) == 0 ? "" : Text(random, 10),
                Headers: new RandomHeaders(random.Next(3) == 0 ? null : Text(random, 3), random.Next(3) == 0 ? null : Text(random, 3)));
            try
            {
                authenticator.Authenticate(request, [], random.Next(2) == 0 ? null : "service");
            }
            catch (DynamoException e)
            {
                Assert.True(e.StatusCode == 400, e.ToString());
            }
        }
    }

    [Fact]
    public void WellFormedHeader_RandomPathsAndQueries_ReachTheCanonicalRequest()
    {
        var options = new EngineOptions();
        options.Auth.Keys.Add(new AccessKeyOptions { AccessKeyId = "AKIDEXAMPLE", SecretAccessKey = "s", Principal = "arn:aws:iam::000000000000:user/a" });
        var authenticator = new RequestAuthenticator(options, new FixedClock(new DateTimeOffset(2015, 8, 30, 12, 36, 0, TimeSpan.Zero)));
        var random = new Random(10);
        var mismatches = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var request = new ApiRequest(null, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=" + Text(random, 3) + "host, Signature=" + Text(random, 2),
                0, Stream.Null, Method: Text(random, 2), RawPath: "/" + Text(random, 8), RawQuery: Text(random, 8).Replace("X-Amz-Algorithm", "", StringComparison.Ordinal),
                Headers: new RandomHeaders("20150830T123600Z", null));
            var e = Assert.Throws<DynamoException>(() => authenticator.Authenticate(request, [], "service"));
            if (e.Message.StartsWith("The request signature we calculated", StringComparison.Ordinal)) mismatches++;
        }

        Assert.True(mismatches > 2_000, $"only {mismatches} reached the signature comparison");
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static string Text(Random random, int pieces)
    {
        var builder = new System.Text.StringBuilder();
        for (var i = random.Next(pieces + 1); i > 0; i--) builder.Append(Pieces[random.Next(Pieces.Length)]);
        return builder.ToString();
    }

    private sealed class RandomHeaders(string? date, string? token) : IApiHeaders
    {
        public string? Get(string name) => name switch
        {
            "x-amz-date" => date,
            "x-amz-security-token" => token,
            "host" => "example.amazonaws.com",
            _ => null,
        };
    }
}
