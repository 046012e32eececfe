using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Engine;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Security;
using Serverless.Engine.Security.Authentication;

namespace Serverless.Benchmarks;

/// <summary>
/// The Verify path of one signed PutItem (a ~230-byte body, the headers botocore signs) cut into its steps, so the
/// per-request cost can be attributed: the body's SHA-256, the canonical request's hash, the final HMAC of the string
/// to sign with the cached signing key, the signing key derivation that the cache saves, the whole verification, and
/// verification plus authorization against an allow-all policy (the request already parsed), and GetItem through the
/// request handler with AcceptAny against Verify. In memory; no I/O, so every call completes synchronously.
/// <c>... -- verify-cpu [rounds]</c> runs the same steps timed by the thread's CPU clock (<see cref="VerifyCpuProbe"/>).
/// </summary>
[Config(typeof(ItemConfig))]
[MemoryDiagnoser]
public class VerifyStepsBenchmarks
{
    private const int Ops = 1000;

    private DynamoEngine _engine = null!;
    private DynamoEngine _open = null!;
    private SignedItemBenchmarks.Signed _get = null!;
    private readonly ApiClient.BodyStream _body = new();
    private SignedItemBenchmarks.Signed _put = null!;
    private ApiRequest _api;
    private JsonDocument _document = null!;
    private OperationContext _context = null!;
    private byte[] _signingKey = null!;
    private byte[] _stringToSign = null!;
    private byte[] _bodyHex = null!;
    private byte[] _secret = null!;
    private string _signedHeaders = "";
    private string _scope = "";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var key = SignedItemBenchmarks.Key;
        // Throttling off: the clock is frozen, so a hot key's capacity would never refill.
        var options = new EngineOptions { InMemory = true, StoreMemoryBytes = 1L << 28, Capacity = { Enforce = false } };
        options.Auth.Keys.Add(new AccessKeyOptions
        {
            AccessKeyId = key.AccessKeyId,
            SecretAccessKey = key.SecretAccessKey,
            Principal = "arn:aws:iam::000000000000:user/bench",
            Policy = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}""",
        });
        _engine = await DynamoEngine.OpenAsync(options, new SignedItemBenchmarks.FrozenClock(SignedItemBenchmarks.SignedAt));
        var create = SignedItemBenchmarks.Sign(Targets.CreateTable, Requests.CreateHashTable("items"));
        _body.Reset(create.Body);
        using (await _engine.Handler.HandleAsync(Api(create))) { }

        _open = await DynamoEngine.OpenAsync(new EngineOptions { InMemory = true, StoreMemoryBytes = 1L << 28, Capacity = { Enforce = false } },
            new SignedItemBenchmarks.FrozenClock(SignedItemBenchmarks.SignedAt));
        _body.Reset(create.Body);
        using (await _open.Handler.HandleAsync(Api(create))) { }

        _put = SignedItemBenchmarks.Sign(Targets.PutItem, Requests.PutItem("items", 1, Requests.Value(160, 1)));
        _api = Api(_put);
        _document = JsonDocument.Parse(_put.Body);
        _body.Reset(_put.Body);
        using (await _engine.Handler.HandleAsync(_api)) { }
        _body.Reset(_put.Body);
        using (await _open.Handler.HandleAsync(_api)) { }
        _get = SignedItemBenchmarks.Sign(Targets.GetItem, Requests.GetItem("items", 1));
        var caller = _engine.Security.Authenticate(_api, _put.Body) ?? throw new InvalidOperationException("not verified");
        _context = new OperationContext(_engine, "us-east-1", "bench") { Caller = caller };

        var auth = _put.Authorization;
        var credential = auth[(auth.IndexOf("Credential=", StringComparison.Ordinal) + 11)..auth.IndexOf(',')];
        _scope = credential[(credential.IndexOf('/') + 1)..];
        var sh = auth.IndexOf("SignedHeaders=", StringComparison.Ordinal) + 14;
        _signedHeaders = auth[sh..auth.IndexOf(',', sh)];
        _bodyHex = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(_put.Body)));
        _secret = Encoding.UTF8.GetBytes("AWS4" + key.SecretAccessKey);
        _signingKey = DeriveSigningKey();
        _stringToSign = Encoding.UTF8.GetBytes($"AWS4-HMAC-SHA256\n{_put.Headers.Get("x-amz-date")}\n{_scope}\n{new string('0', 64)}");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _document.Dispose();
        await ApiClient.CloseEngineAsync(_open, null);
        await ApiClient.CloseEngineAsync(_engine, null);
    }

    /// <summary>SHA-256 of the body and its hex (the payload hash of the canonical request).</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public byte BodyHash()
    {
        Span<byte> hash = stackalloc byte[32];
        Span<byte> hex = stackalloc byte[64];
        for (var i = 0; i < Ops; i++)
        {
            Hashing.Sha256(_put.Body, hash);
            RequestAuthenticator.WriteHex(hash, hex);
        }

        return hex[0];
    }

    /// <summary>The canonical request built (method, URI, query, signed headers looked up) and hashed.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public byte CanonicalRequestHash()
    {
        Span<byte> hash = stackalloc byte[32];
        for (var i = 0; i < Ops; i++) CanonicalRequest.Hash(_api, _signedHeaders, _bodyHex, presigned: false, hash);
        return hash[0];
    }

    /// <summary>The final HMAC of the string to sign under the cached signing key.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public byte FinalHmac()
    {
        Span<byte> mac = stackalloc byte[32];
        for (var i = 0; i < Ops; i++) Hashing.HmacSha256(_signingKey, _stringToSign, mac);
        return mac[0];
    }

    /// <summary>What a request would pay without the signing-key cache: the four HMACs of the key derivation.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public byte SigningKeyUncached()
    {
        byte b = 0;
        for (var i = 0; i < Ops; i++) b ^= DeriveSigningKey()[0];
        return b;
    }

    /// <summary>The whole verification: parse, clock, scope, key lookup, body hash, canonical request, HMAC, compare.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public int Authenticate()
    {
        var n = 0;
        for (var i = 0; i < Ops; i++)
            if (_engine.Security.Authenticate(_api, _put.Body) is not null) n++;
        return n;
    }

    /// <summary>Verification and authorization (allow-all identity policy), as the request handler runs them.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public int AuthenticateAndAuthorize()
    {
        var n = 0;
        for (var i = 0; i < Ops; i++)
        {
            if (_engine.Security.Authenticate(_api, _put.Body) is not null) n++;
            _engine.Security.Authorize(_context, Targets.PutItem, _document.RootElement);
        }

        return n;
    }

    /// <summary>A signed GetItem through the request handler of an AcceptAny engine (no verification).</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public Task GetItemAcceptAny() => GetItems(_open);

    /// <summary>The same request through a Verify engine: the difference is the whole cost of verification and authorization.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public Task GetItemVerify() => GetItems(_engine);

    private async Task GetItems(DynamoEngine engine)
    {
        var api = Api(_get);
        for (var i = 0; i < Ops; i++)
        {
            _body.Reset(_get.Body);
            using var response = await engine.Handler.HandleAsync(api);
            if (response.StatusCode != 200) throw new InvalidOperationException(Encoding.UTF8.GetString(response.Body.Span));
        }
    }

    private byte[] DeriveSigningKey()
    {
        var key = _secret;
        foreach (var piece in _scope.Split('/')) key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(piece));
        return key;
    }

    private ApiRequest Api(SignedItemBenchmarks.Signed request) =>
        new(request.Target, request.Authorization, request.Body.Length, _body, ApiResponse.JsonContentType,
            request.Headers.Get("x-amz-date"), "POST", "/", "", request.Headers);
}
