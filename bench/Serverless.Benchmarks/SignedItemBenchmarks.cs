using System.Security.Cryptography;
using Serverless.Engine;
using Serverless.Engine.Protocol;
using Serverless.Engine.Security;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.Benchmarks;

/// <summary>
/// GetItem and PutItem through the request handler with SigV4-signed requests, durable store (encryption at rest is
/// always on): <see cref="Verify"/> = false accepts any credentials, true verifies every signature and authorizes it
/// against an allow-all policy. The difference is the cost of verification; the requests are signed once in setup
/// (with the test suite's independent signer) at the engine's frozen clock, so each stays valid.
/// </summary>
[Config(typeof(ItemConfig))]
[MemoryDiagnoser]
public class SignedItemBenchmarks
{
    private const int Ops = 1000;
    private const int Keys = 20_000;
    private const string Table = "items";
    private const string Host = "127.0.0.1:8000";
    internal static readonly DateTime SignedAt = new(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);
    internal static readonly SigV4Key Key = new("AKIABENCHBENCHBENCH0", "benchsecretbenchsecretbenchsecret0000000");

    private DynamoEngine _engine = null!;
    private string? _directory;
    private readonly ApiClient.BodyStream _body = new();
    private Signed[] _puts = null!;
    private Signed[] _gets = null!;
    private int _nextPut;
    private int _nextGet;

    [Params(false, true)]
    public bool Verify { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "ddb-bench-" + Guid.NewGuid().ToString("N"));
        var options = new EngineOptions { DataDirectory = _directory, StoreMemoryBytes = 1L << 30 };
        if (Verify)
        {
            options.Auth.Keys.Add(new AccessKeyOptions
            {
                AccessKeyId = Key.AccessKeyId,
                SecretAccessKey = Key.SecretAccessKey,
                Principal = "arn:aws:iam::000000000000:user/bench",
                Policy = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}""",
            });
        }

        _engine = await DynamoEngine.OpenAsync(options, new FrozenClock(SignedAt));
        await SendAsync(Sign(Targets.CreateTable, Requests.CreateHashTable(Table)));
        string[] values = [Requests.Value(160, 1), Requests.Value(160, 2)];
        _puts = new Signed[2 * Keys];
        for (var i = 0; i < _puts.Length; i++) _puts[i] = Sign(Targets.PutItem, Requests.PutItem(Table, i % Keys, values[i / Keys]));
        _gets = new Signed[Keys];
        for (var i = 0; i < Keys; i++) _gets[i] = Sign(Targets.GetItem, Requests.GetItem(Table, (i * 7919) % Keys));
        for (var i = 0; i < Keys; i++) await SendAsync(_puts[Keys + i]);
    }

    [GlobalCleanup]
    public Task CleanupAsync() => ApiClient.CloseEngineAsync(_engine, _directory);

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task PutItem()
    {
        for (var i = 0; i < Ops; i++)
        {
            await SendAsync(_puts[_nextPut]);
            if (++_nextPut == _puts.Length) _nextPut = 0;
        }
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task GetItem()
    {
        for (var i = 0; i < Ops; i++)
        {
            await SendAsync(_gets[_nextGet]);
            if (++_nextGet == _gets.Length) _nextGet = 0;
        }
    }

    /// <summary>Signature verification alone (the request's body hash, canonical request and HMAC), no operation.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public int Authenticate()
    {
        var n = 0;
        for (var i = 0; i < Ops; i++)
        {
            var request = _gets[_nextGet];
            if (++_nextGet == _gets.Length) _nextGet = 0;
            var api = new ApiRequest(request.Target, request.Authorization, request.Body.Length, _body, ApiResponse.JsonContentType,
                request.Headers.Get("x-amz-date"), "POST", "/", "", request.Headers);
            if (_engine.Security.Authenticate(api, request.Body) is not null) n++;
        }

        return n;
    }

    private async ValueTask SendAsync(Signed request)
    {
        _body.Reset(request.Body);
        var api = new ApiRequest(request.Target, request.Authorization, request.Body.Length, _body, ApiResponse.JsonContentType,
            request.Headers.Get("x-amz-date"), "POST", "/", "", request.Headers);
        using var response = await _engine.Handler.HandleAsync(api);
        if (response.StatusCode != 200)
            throw new InvalidOperationException($"{request.Target} answered {response.StatusCode}: {System.Text.Encoding.UTF8.GetString(response.Body.Span)}");
    }

    internal static Signed Sign(string target, byte[] body)
    {
        var stamp = SignedAt.ToString(SigV4Signer.DateFormat, System.Globalization.CultureInfo.InvariantCulture);
        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["content-type"] = ApiResponse.JsonContentType,
            ["host"] = Host,
            ["x-amz-date"] = stamp,
            ["x-amz-target"] = target,
        };
        var signedHeaders = string.Join(";", headers.Keys);
        var canonical = SigV4Signer.CanonicalRequest("POST", "/", "", headers, signedHeaders, SigV4Signer.Hex(SHA256.HashData(body)));
        var scope = $"{stamp[..8]}/us-east-1/dynamodb/aws4_request";
        var signature = SigV4Signer.Signature(Key.SecretAccessKey, stamp, scope, canonical);
        var authorization = $"AWS4-HMAC-SHA256 Credential={Key.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
        return new Signed(target, body, authorization, new Headers(headers));
    }

    internal sealed record Signed(string Target, byte[] Body, string Authorization, Headers Headers);

    internal sealed class Headers(SortedDictionary<string, string> values) : IApiHeaders
    {
        private readonly Dictionary<string, string> _values = new(values, StringComparer.OrdinalIgnoreCase);

        public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;
    }

    internal sealed class FrozenClock(DateTime utc) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(utc);
    }
}
