// Load generator for transactions over HTTP: runs one scenario against a running host for a fixed time and prints
// throughput and latency. Raw JSON over HttpClient keeps client-side cost small next to the server's.
using System.Diagnostics;
using System.Net;
using System.Text;

var options = Options.Parse(args);
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Connections, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
{
    BaseAddress = new Uri(options.Url),
};
var table = "txbench_" + Guid.NewGuid().ToString("N")[..8];
await PostAsync(http, "CreateTable", $$"""{"TableName":"{{table}}","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]}""");

// Contended: every worker draws its items from the same 20 keys. Uncontended: each worker has its own keys.
var keySpace = options.Contended ? 20 : 1_000_000;
var latencies = new List<double>[options.Connections];
var ok = 0L;
var cancelled = 0L;
var conflicts = 0L;
var errors = 0L;
var warmupEnd = DateTime.UtcNow.AddSeconds(options.Warmup);
var end = warmupEnd.AddSeconds(options.Seconds);
var workers = Enumerable.Range(0, options.Connections).Select(w => Task.Run(async () =>
{
    var random = new Random(w);
    var mine = latencies[w] = new List<double>(100_000);
    var keys = new HashSet<int>();
    while (DateTime.UtcNow < end)
    {
        keys.Clear();
        while (keys.Count < options.Items) keys.Add(random.Next(keySpace));
        var prefix = options.Contended ? "k" : $"w{w}-";
        var (target, body) = options.Items == 1 && options.Plain
            ? ("UpdateItem", "{\"TableName\":\"" + table + "\",\"Key\":{\"pk\":{\"S\":\"" + prefix + keys.First()
                + "\"}},\"UpdateExpression\":\"ADD v :d\",\"ExpressionAttributeValues\":{\":d\":{\"N\":\"" + random.Next(1, 10) + "\"}}}")
            : ("TransactWriteItems", TransactBody(table, prefix, keys, random));
        var started = Stopwatch.GetTimestamp();
        var (status, text) = await PostAsync(http, target, body, throwOnError: false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (DateTime.UtcNow < warmupEnd) continue;
        if (status == HttpStatusCode.OK)
        {
            Interlocked.Increment(ref ok);
            mine.Add(elapsed);
        }
        else if (text.Contains("TransactionCanceledException", StringComparison.Ordinal)) Interlocked.Increment(ref cancelled);
        else if (text.Contains("TransactionConflictException", StringComparison.Ordinal)) Interlocked.Increment(ref conflicts);
        else Interlocked.Increment(ref errors);
    }
})).ToArray();
await Task.WhenAll(workers);

var all = latencies.SelectMany(l => l).Order().ToArray();
double P(double q) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
var kind = options.Plain ? "UpdateItem" : $"TransactWriteItems x{options.Items}";
Console.WriteLine($"{kind,-24} {(options.Contended ? "contended (20 keys)" : "uncontended"),-20} conns={options.Connections} " +
    $"ok/s={ok / options.Seconds,8:F0} cancelled/s={cancelled / options.Seconds,6:F0} conflict/s={conflicts / options.Seconds,5:F0} errors={errors} " +
    $"p50={P(0.5):F2}ms p99={P(0.99):F2}ms");

static string TransactBody(string table, string prefix, HashSet<int> keys, Random random)
{
    var sb = new StringBuilder("""{"TransactItems":[""");
    var first = true;
    foreach (var k in keys)
    {
        if (!first) sb.Append(',');
        first = false;
        sb.Append("{\"Update\":{\"TableName\":\"").Append(table).Append("\",\"Key\":{\"pk\":{\"S\":\"").Append(prefix).Append(k)
            .Append("\"}},\"UpdateExpression\":\"ADD v :d\",\"ExpressionAttributeValues\":{\":d\":{\"N\":\"").Append(random.Next(1, 10)).Append("\"}}}}");
    }

    return sb.Append("]}").ToString();
}

static async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient http, string target, string body, bool throwOnError = true)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
    request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.0");
    request.Headers.TryAddWithoutValidation("X-Amz-Target", "DynamoDB_20120810." + target);
    request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00");
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (throwOnError && response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{target}: {text}");
    return (response.StatusCode, text);
}

internal sealed record Options(string Url, int Items, bool Plain, bool Contended, int Connections, int Seconds, int Warmup)
{
    public static Options Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var items = int.Parse(Get("items", "2"));
        return new Options(Get("url", "http://127.0.0.1:8000"), items, args.Contains("--plain"), args.Contains("--contended"),
            int.Parse(Get("connections", "16")), int.Parse(Get("seconds", "10")), int.Parse(Get("warmup", "2")));
    }
}
