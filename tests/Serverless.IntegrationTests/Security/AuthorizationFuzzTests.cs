using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Serverless.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Serverless.IntegrationTests.Security;

/// <summary>
/// Hostile Authorization, X-Amz-Date and X-Amz-Security-Token headers, written as raw bytes on keep-alive TCP
/// connections to a host in Verify mode: huge, unicode and control characters, CR/LF injection, missing and
/// repeated parameters and headers, wrong algorithms, invalid hex, broken scopes, hostile (presigned) query
/// strings. Every request must get an
/// answer, every answer 4xx, never 5xx, and the host must stay up and keep serving. The one exception is a
/// mutation that leaves the request equivalent to the signed one (an extra parameter of an unknown name, which
/// AWS ignores too): at most 1 in 5,000 may get 200, and only while still carrying the genuine signature.
/// Deterministic (seeds 9 to 12, one per connection); <c>SIGV4_FUZZ_ITERATIONS</c> asks for more.
/// </summary>
[Collection(KeyedHostCollection.Name)]
public sealed class AuthorizationFuzzTests(KeyedHostFixture fixture, ITestOutputHelper output)
{
    private const int Workers = 4;
    private static readonly string[] Algorithms = ["AWS4-HMAC-SHA1", "AWS4-", "AWS4", "aws4-hmac-sha256", "AWS4-HMAC-SHA256\t", "AWS4-ECDSA-P256-SHA256", "AWS3", "Basic", "Bearer", ""];
    private static readonly string[] Names = ["Credential", "Signature", "SignedHeaders", "Signature ", " Credential"];
    private static readonly string[] Inserted = ["\u00e9", "\u4e2d", "\ud83d\ude00", "\u0000", "\u0001", "\u007f", "\u00ff", "\u0161", "\u200b", "\ufeff", "%00", "\\", "\"", "'", ";"];
    private static readonly string[] Exotic = ["\u00e9", "\u4e2d", "\ud83d\ude00", "\u0000", "\u0001", "\u007f", "\u00ff", "\u0161", "\t", "\u200b", "\ufeff", "%00", "%zz", "\\", "\"", "'", ";", ",", "=", "/", " "];

    [Fact]
    public async Task HostileAuthorizationHeaders_AreAlways4xx()
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("SIGV4_FUZZ_ITERATIONS"), CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 10_000;
        var host = fixture.Host;
        var now = SignedRequests.Now();
        var stamp = SignedRequests.Stamp(now);
        using (var signed = SignedRequests.Create(host, KeyedHostFixture.Alice, now))
        {
            var valid = SignedRequests.Authorization(signed);
            var statuses = new int[600];
            var genuine = valid[(valid.LastIndexOf("Signature=", StringComparison.Ordinal) + "Signature=".Length)..];
            var dropped = 0;
            var forged = 0;
            var started = DateTime.UtcNow;
            var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
            {
                var random = new Random(9 + w);
                var connection = new Connection(host.Port);
                try
                {
                    for (var i = w; i < iterations; i += Workers)
                    {
                        var (request, closes) = Generate(random, host.Port, valid, stamp);
                        var status = await connection.ExchangeAsync(request, closes);
                        if (status == 200 && !Encoding.UTF8.GetString(request).Contains(genuine, StringComparison.Ordinal)) Interlocked.Increment(ref forged);
                        if (status < 0) Interlocked.Increment(ref dropped);
                        else Interlocked.Increment(ref statuses[Math.Min(status, 599)]);
                    }
                }
                finally
                {
                    connection.Dispose();
                }
            })).ToArray();
            await Task.WhenAll(workers);

            var elapsed = DateTime.UtcNow - started;
            var summary = string.Join(", ", statuses.Select((c, s) => (c, s)).Where(x => x.c > 0).Select(x => $"{x.s}: {x.c}"));
            output.WriteLine($"{iterations} requests in {elapsed.TotalSeconds:F1} s; statuses {summary}; no answer {dropped}; served without the genuine signature {forged}");
            Assert.Equal(0, statuses.Skip(500).Sum());
            Assert.Equal(0, dropped);
            Assert.Equal(0, forged);
            Assert.Equal(iterations, statuses.Skip(400).Take(100).Sum() + statuses[200]);
            Assert.True(statuses[200] <= iterations / 5_000, $"{statuses[200]} mutated requests were served: the mutations are too weak");
        }

        // Still up and serving signed requests.
        Assert.False(host.HasExited);
        using var client = fixture.Client(new BasicAWSCredentials(KeyedHostFixture.Alice.AccessKeyId, KeyedHostFixture.Alice.SecretAccessKey));
        Assert.Equal(HttpStatusCode.OK, (await client.ListTablesAsync(new ListTablesRequest())).HttpStatusCode);
    }

    /// <summary>
    /// One hostile request: the valid one with one to three mutations of its Authorization, X-Amz-Date and
    /// X-Amz-Security-Token headers (alice's key has no token, so any token is wrong).
    /// </summary>
    private static (byte[] Request, bool Closes) Generate(Random random, int port, string valid, string stamp)
    {
        string? authorization = valid, date = stamp, token = null, second = null;
        var repeat = false;
        var query = "";
        var mutations = 1 + random.Next(3);
        for (var m = 0; m < mutations; m++)
        {
            switch (random.Next(15))
            {
                case 0: authorization = RandomText(random, random.Next(0, 300)); break;
                case 1: authorization = Huge(random, valid); break;
                case 2: authorization = valid[..random.Next(valid.Length)]; break;
                case 3: authorization = DropParameter(random, authorization ?? valid); break;
                case 4: authorization = (authorization ?? valid) + ", " + Pick(random, Names) + "=" + RandomText(random, random.Next(0, 80)); break;
                case 5: authorization = Pick(random, Algorithms) + WithoutScheme(authorization ?? valid); break;
                case 6: authorization = ReplaceValue(random, authorization ?? valid, "Signature=", BadHex(random)); break;
                case 7: authorization = ReplaceValue(random, authorization ?? valid, "Credential=", BadCredential(random, stamp)); break;
                case 8: authorization = ReplaceValue(random, authorization ?? valid, "SignedHeaders=", BadSignedHeaders(random)); break;
                case 9: date = random.Next(4) == 0 ? null : BadDate(random, stamp); break;
                case 10: token = random.Next(3) == 0 ? Huge(random, "token") : RandomText(random, 1 + random.Next(200)); break;
                case 11: authorization = Insert(random, authorization ?? valid); break;
                case 12: if (random.Next(2) == 0) repeat = true; else second = "x" + RandomText(random, random.Next(100)); break;
                case 13: query = BadQuery(random); break;
                default: authorization = null; break;
            }
        }

        var closes = false;
        var builder = new StringBuilder();
        builder.Append(CultureInfo.InvariantCulture, $"POST /{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Amz-Target: {SignedRequests.ListTables}\r\nContent-Type: {RawApi.ContentType}\r\nContent-Length: 2\r\n");
        foreach (var value in new[] { date, token, authorization, second })
            closes |= value is not null && (value.Contains('\r') || value.Contains('\n'));
        if (closes) builder.Append("Connection: close\r\n"); // CR/LF inside a value may end the headers early: one request per connection
        if (date is not null) builder.Append("X-Amz-Date: ").Append(date).Append("\r\n");
        if (token is not null) builder.Append("X-Amz-Security-Token: ").Append(token).Append("\r\n");
        if (authorization is not null) builder.Append("Authorization: ").Append(authorization).Append("\r\n");
        if (second is not null || (repeat && authorization is not null)) builder.Append("Authorization: ").Append(second ?? authorization).Append("\r\n");
        builder.Append("\r\n{}");
        return (Encoding.UTF8.GetBytes(builder.ToString()), closes);
    }

    private static string WithoutScheme(string header) => header.IndexOf(' ') is var space and >= 0 ? header[space..] : "";

    /// <summary>
    /// A query string (the path stays "/", the API's route): presigned parameters, bad escapes, raw bytes. Never
    /// empty parts: "?&amp;&amp;" canonicalises to no query at all and leaves the request valid.
    /// </summary>
    private static string BadQuery(Random random)
    {
        var parts = new List<string>();
        for (var i = random.Next(1, 6); i > 0; i--)
        {
            parts.Add(random.Next(7) switch
            {
                0 => "X-Amz-Algorithm=" + Pick(random, ["AWS4-HMAC-SHA256", "", "x", "%zz"]),
                1 => "X-Amz-Credential=AKIAALICE0000EXAMPLE%2F20261201%2Fus-east-1%2Fdynamodb%2Faws4_request",
                2 => "X-Amz-Signature=" + new string('0', random.Next(70)),
                3 => "X-Amz-SignedHeaders=host" + Pick(random, ["", "%3Bx-amz-date", "%", "%e9"]),
                4 => "X-Amz-Date=" + Pick(random, ["20261201T000000Z", "", "%00", "99999999T999999Z"]),
                5 => Pick(random, ["a", "%", "%%", "%2", "a=b=c", "=", "%F0%9F%98", ".."]),
                _ => "p" + Uri.EscapeDataString(RandomText(random, random.Next(20)).Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal)),
            });
        }

        return "?" + string.Join("&", parts);
    }

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];

    private static string RandomText(Random random, int length)
    {
        var builder = new StringBuilder(length);
        while (builder.Length < length)
        {
            builder.Append(random.Next(5) switch
            {
                0 => Pick(random, Exotic),
                1 => ((char)random.Next(0, 32)).ToString(),
                2 => random.Next(2) == 0 ? "\r\n" : "\n",
                _ => ((char)random.Next(32, 127)).ToString(),
            });
        }

        return builder.ToString();
    }

    private static string Huge(Random random, string seed)
    {
        var size = random.Next(3) switch { 0 => 4_000, 1 => 20_000, _ => 40_000 }; // the last is over Kestrel's 32 KiB header limit
        var builder = new StringBuilder(size + seed.Length);
        while (builder.Length < size) builder.Append(random.Next(2) == 0 ? seed : Pick(random, Exotic));
        return builder.Append('\u00e9').ToString();
    }

    private static string DropParameter(Random random, string header)
    {
        var parts = header.Split(", ").ToList();
        if (parts.Count > 1) parts.RemoveAt(random.Next(Math.Min(3, parts.Count))); // one of the three the signer wrote
        return string.Join(", ", parts);
    }

    private static string ReplaceValue(Random random, string header, string prefix, string value)
    {
        var at = header.IndexOf(prefix, StringComparison.Ordinal);
        if (at < 0) return header + ", " + prefix + value;
        var end = header.IndexOf(',', at);
        var replaced = header[..(at + prefix.Length)] + value + (end < 0 ? "" : header[end..]);
        return random.Next(5) == 0 ? replaced + ", " + prefix + value : replaced; // sometimes repeated
    }

    private static string BadHex(Random random) => random.Next(6) switch
    {
        0 => new string('z', 64),
        1 => new string('a', random.Next(0, 200)),
        2 => "5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF31",
        3 => new string('0', 63) + Pick(random, Exotic),
        4 => "",
        _ => RandomText(random, 64),
    };

    private static string BadCredential(Random random, string stamp) => random.Next(8) switch
    {
        0 => "AKIAALICE0000EXAMPLE",
        1 => $"AKIAALICE0000EXAMPLE/{stamp[..8]}/us-east-1/dynamodb",
        2 => $"AKIAALICE0000EXAMPLE/{stamp[..8]}/us-east-1/dynamodb/aws4_request/extra",
        3 => $"AKIAALICE0000EXAMPLE/{stamp[..8]}/{Pick(random, Exotic)}/dynamodb/aws4_request",
        4 => $"AKIAALICE0000EXAMPLE/{stamp[..8]}/us-east-1/dynamodb\u0000/aws4_request",
        5 => "////",
        6 => $"{RandomText(random, 30)}/{stamp[..8]}/us-east-1/dynamodb/aws4_request",
        _ => $"AKIAALICE0000EXAMPLE/99999999/us-east-1/{Pick(random, Exotic)}/aws5_request",
    };

    private static string BadSignedHeaders(Random random) => random.Next(6) switch
    {
        0 => "",
        1 => ";;;",
        2 => string.Join(";", Enumerable.Range(0, 2000).Select(i => "h" + i.ToString(CultureInfo.InvariantCulture))),
        3 => "host;x-amz-date;no-such-header",
        4 => "content-type;HOST;x-amz-date",
        _ => RandomText(random, 40),
    };

    private static string BadDate(Random random, string stamp) => random.Next(8) switch
    {
        0 => "99999999T999999Z",
        1 => "00010101T000000Z",
        2 => stamp + "\u00e9",
        3 => stamp[..random.Next(stamp.Length)],
        4 => "-" + stamp,
        5 => Huge(random, stamp),
        6 => "Tue, 01 Dec 1970 00:00:00 GMT",
        _ => RandomText(random, 1 + random.Next(30)),
    };

    private static string Insert(Random random, string header)
    {
        // Not a separator (space, comma, tab), nor '=' (",=," is an empty pair, ignored) nor '/' (a trailing slash of
        // the credential is ignored): those can leave the header valid.
        var at = random.Next(header.Length + 1);
        return header[..at] + Pick(random, Inserted) + header[at..];
    }

    /// <summary>A keep-alive HTTP/1.1 connection that sends raw bytes and reads one response (status line, Content-Length body).</summary>
    private sealed class Connection(int port) : IDisposable
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private Socket? _socket;

        /// <returns>The status code, or -1 when the server closed the connection without an answer.</returns>
        public async Task<int> ExchangeAsync(byte[] request, bool closeAfter)
        {
            while (true)
            {
                // A kept-alive connection the server has since closed is retried once on a fresh one.
                var fresh = _socket is null;
                _socket ??= await ConnectAsync(port);
                var status = -1;
                var keepAlive = false;
                try
                {
                    await _socket.SendAsync(request);
                    (status, keepAlive) = await ReadResponseAsync(_socket);
                }
                catch (SocketException)
                {
                }

                if (status < 0 || closeAfter || !keepAlive) Close();
                if (status >= 0 || fresh) return status;
            }
        }

        private static async Task<Socket> ConnectAsync(int port)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            return socket;
        }

        public void Dispose() => Close();

        private void Close()
        {
            _socket?.Dispose();
            _socket = null;
        }

        private async Task<(int Status, bool KeepAlive)> ReadResponseAsync(Socket socket)
        {
            var length = 0;
            int headerEnd;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while ((headerEnd = IndexOf(_buffer.AsSpan(0, length), "\r\n\r\n"u8)) < 0)
            {
                if (length == _buffer.Length) return (-1, false);
                var read = await socket.ReceiveAsync(_buffer.AsMemory(length), timeout.Token);
                if (read == 0) return (-1, false);
                length += read;
            }

            var head = Encoding.ASCII.GetString(_buffer, 0, headerEnd);
            var lines = head.Split("\r\n");
            var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
            var contentLength = 0;
            var keepAlive = true;
            foreach (var line in lines.Skip(1))
            {
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) contentLength = int.Parse(line[15..].Trim(), CultureInfo.InvariantCulture);
                if (line.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase) && line.Contains("close", StringComparison.OrdinalIgnoreCase)) keepAlive = false;
            }

            var have = length - headerEnd - 4;
            while (have < contentLength)
            {
                var read = await socket.ReceiveAsync(_buffer.AsMemory(0, Math.Min(_buffer.Length, contentLength - have)), timeout.Token);
                if (read == 0) return (status, false);
                have += read;
            }

            return (status, keepAlive && have == contentLength);
        }

        private static int IndexOf(ReadOnlySpan<byte> span, ReadOnlySpan<byte> value) => span.IndexOf(value);
    }
}
