// Global tables benchmark against a running local host serving us-east-1 and eu-west-1 (--regions):
//  1. replication lag: PutItem in us-east-1 at a paced rate into a table with a replica in eu-west-1, then
//     CloudWatch's ReplicationLatency as the host reports it in /admin/metrics (write timestamp to apply in
//     eu-west-1, over the last 4096 writes): p50, p99, max;
//  2. the write-throughput cost of one replica: unpaced PutItems into a table without replicas and into the one
//     with a replica, same concurrency, in the same run: three rounds in alternating order, medians compared.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

var url = Arg("--url", "http://127.0.0.1:8000");
var rate = int.Parse(Arg("--rate", "1000"), CultureInfo.InvariantCulture);
var seconds = int.Parse(Arg("--seconds", "10"), CultureInfo.InvariantCulture);
var fill = int.Parse(Arg("--fill", "20000"), CultureInfo.InvariantCulture);
// Enough concurrent writers that the paced rate is reached even when each write waits tens of milliseconds for its
// change record to reach Azurite (rate x latency writers are in flight).
var writers = int.Parse(Arg("--writers", "32"), CultureInfo.InvariantCulture);
var retries = 0;
const string Global = "GlobalBench";
const string Plain = "PlainBench";

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(url) };
foreach (var table in new[] { Global, Plain })
    await PostAsync("us-east-1", "DynamoDB_20120810.CreateTable", $$$"""{"TableName":"{{{table}}}","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]}""");
await PostAsync("us-east-1", "DynamoDB_20120810.UpdateTable", $$$"""{"TableName":"{{{Global}}}","ReplicaUpdates":[{"Create":{"RegionName":"eu-west-1"}}]}""");
while (!(await PostAsync("us-east-1", "DynamoDB_20120810.DescribeTable", $$$"""{"TableName":"{{{Global}}}"}""")).Contains("\"ReplicaStatus\":\"ACTIVE\"", StringComparison.Ordinal))
    await Task.Delay(100);

// 1. Replication lag under a paced load, with the load average as the machine is shared.
Console.WriteLine("load average before: " + LoadAverage());
var total = rate * seconds;
var clock = Stopwatch.StartNew();
// A trace of the host's rolling lag figures every 500 ms, printed when the run's p99 is over 500 ms, to show when
// the receiving region fell behind and how long it took to catch up.
using var tracing = new CancellationTokenSource();
var trace = TraceLagAsync(tracing.Token);
await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
{
    for (var i = w; i < total; i += writers)
    {
        var wait = TimeSpan.FromSeconds((double)i / rate) - clock.Elapsed;
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        await PostAsync("us-east-1", "DynamoDB_20120810.PutItem", Item(Global, i));
    }
})));
var achieved = total / clock.Elapsed.TotalSeconds;
var caughtUp = Stopwatch.StartNew();
while (ItemCount(await PostAsync("eu-west-1", "DynamoDB_20120810.DescribeTable", $$$"""{"TableName":"{{{Global}}}"}""")) < total)
{
    if (caughtUp.Elapsed > TimeSpan.FromSeconds(120)) throw new TimeoutException("eu-west-1 did not catch up in 120 s");
    await Task.Delay(20);
}

await tracing.CancelAsync();
var traced = await trace;
using (var metrics = JsonDocument.Parse(await http.GetStringAsync("/admin/metrics")))
{
    foreach (var l in metrics.RootElement.GetProperty("ReplicationLatency").EnumerateArray())
    {
        if (l.GetProperty("TableName").GetString() != Global) continue;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"replication lag ({writers} writers) {l.GetProperty("SourceRegion").GetString()} -> {l.GetProperty("ReceivingRegion").GetString()}: {total} writes at {achieved:F0}/s  p50={l.GetProperty("P50Milliseconds").GetDouble():F1} ms  p99={l.GetProperty("P99Milliseconds").GetDouble():F1} ms  max={l.GetProperty("MaximumMilliseconds").GetDouble():F1} ms (last {Math.Min(4096, l.GetProperty("Count").GetInt64())} writes)"));
        if (l.GetProperty("P99Milliseconds").GetDouble() > 500)
            foreach (var line in traced) Console.WriteLine("  " + line);
    }
}

Console.WriteLine("load average after the paced run: " + LoadAverage() + $"; writes retried after a 503: {retries}");

// 2. Write throughput without and with a replica (after a warm-up fill, so neither pays for the JIT), in three
// rounds whose order alternates (plain first, then replicated first, ...), so drift in the machine's speed and the
// engine's background work (checkpoints, GC) does not land on one side only; the medians are compared.
await FillAsync(Plain, 10 * (total + fill));
var plainRates = new List<double>();
var replicatedRates = new List<double>();
for (var round = 0; round < 3; round++)
{
    var offset = 20 * (total + fill) + 2 * round * fill;
    var plainFirst = round % 2 == 0;
    var first = await FillAsync(plainFirst ? Plain : Global, offset);
    var second = await FillAsync(plainFirst ? Global : Plain, offset + fill);
    plainRates.Add(plainFirst ? first : second);
    replicatedRates.Add(plainFirst ? second : first);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  round {round + 1} ({(plainFirst ? "no replica first" : "one replica first")}): no replica {plainRates[^1]:F0}/s, one replica {replicatedRates[^1]:F0}/s"));
}

var plain = Median(plainRates);
var replicated = Median(replicatedRates);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"write throughput, 16 concurrent writers, {fill} PutItems per table and round, median of 3 rounds: no replica {plain:F0}/s, one replica {replicated:F0}/s ({(replicated - plain) / plain * 100:+0.0;-0.0}%)"));
return;

async Task<List<string>> TraceLagAsync(CancellationToken stop)
{
    var lines = new List<string>();
    while (!stop.IsCancellationRequested)
    {
        try
        {
            await Task.Delay(500, stop);
            using var metrics = JsonDocument.Parse(await http.GetStringAsync("/admin/metrics", stop));
            foreach (var l in metrics.RootElement.GetProperty("ReplicationLatency").EnumerateArray())
                if (l.GetProperty("TableName").GetString() == Global)
                    lines.Add(string.Create(CultureInfo.InvariantCulture,
                        $"t={clock.Elapsed.TotalSeconds:F1} s: {l.GetProperty("Count").GetInt64()} applied, rolling p50={l.GetProperty("P50Milliseconds").GetDouble():F0} ms p99={l.GetProperty("P99Milliseconds").GetDouble():F0} ms max={l.GetProperty("MaximumMilliseconds").GetDouble():F0} ms, load {LoadAverage()}"));
        }
        catch (OperationCanceledException)
        {
            break;
        }
    }

    return lines;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

async Task<double> FillAsync(string table, int offset)
{
    var fillClock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
    {
        for (var i = offset + w; i < offset + fill; i += 16) await PostAsync("us-east-1", "DynamoDB_20120810.PutItem", Item(table, i));
    })));
    return fill / fillClock.Elapsed.TotalSeconds;
}

// Like the SDKs: a 503 (Azurite's blob storage overloaded under the shared machine) or a throttle is retried.
async Task<string> PostAsync(string region, string target, string body)
{
    for (var attempt = 1; ; attempt++)
    {
        try
        {
            return await PostOnceAsync(region, target, body);
        }
        catch (RetryableException) when (attempt < 10)
        {
            Interlocked.Increment(ref retries);
            await Task.Delay(50 * attempt);
        }
    }
}

async Task<string> PostOnceAsync(string region, string target, string body)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.0");
    request.Headers.Add("X-Amz-Target", target);
    // The host accepts any credentials without configured keys; the credential scope picks the region's engine.
    request.Headers.TryAddWithoutValidation("Authorization", $"AWS4-HMAC-SHA256 Credential=BENCH/20260101/{region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0");
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if ((int)response.StatusCode == 503 || text.Contains("ThrottlingException", StringComparison.Ordinal)) throw new RetryableException();
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{target}: {(int)response.StatusCode} {text}");
    return text;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static long ItemCount(string describe)
{
    using var doc = JsonDocument.Parse(describe);
    return doc.RootElement.GetProperty("Table").GetProperty("ItemCount").GetInt64();
}

// A PutItem body: key k{i}, the number i and 100 bytes of padding.
static string Item(string table, int i) =>
    "{\"TableName\":\"" + table + "\",\"Item\":{\"pk\":{\"S\":\"k" + i + "\"},\"i\":{\"N\":\"" + i + "\"},\"pad\":{\"S\":\"" + new string('x', 100) + "\"}}}";

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

internal sealed class RetryableException : Exception;
