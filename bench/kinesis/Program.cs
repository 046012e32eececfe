// Kinesis destination benchmark against a running local host:
//  - creates a Kinesis stream (--shards, default 4) and a table streaming to it (EnableKinesisStreamingDestination);
//  - writes PutItem at a paced --rate for --seconds, each item carrying the wall-clock time its write was acknowledged;
//  - reads every shard with GetRecords (at most five calls per shard per second, as Kinesis allows) and reports
//    delivery lag = ApproximateArrivalTimestamp (when delivery appended the record) - acknowledgement time, and the
//    lag a polling consumer sees = when GetRecords returned the record - acknowledgement time (p50/p99/max).
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

var url = Arg("--url", "http://127.0.0.1:8000");
var rate = int.Parse(Arg("--rate", "1000"), CultureInfo.InvariantCulture);
var seconds = int.Parse(Arg("--seconds", "10"), CultureInfo.InvariantCulture);
var shards = int.Parse(Arg("--shards", "4"), CultureInfo.InvariantCulture);
var stream = "bench-" + Guid.NewGuid().ToString("N")[..8];
var table = "KinesisBench-" + stream;

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { BaseAddress = new Uri(url) };
await PostAsync("Kinesis_20131202.CreateStream", $$$"""{"StreamName":"{{{stream}}}","ShardCount":{{{shards}}}}""", Json11);
using var summary = JsonDocument.Parse(await PostAsync("Kinesis_20131202.DescribeStreamSummary", $$$"""{"StreamName":"{{{stream}}}"}""", Json11));
var arn = summary.RootElement.GetProperty("StreamDescriptionSummary").GetProperty("StreamARN").GetString();
await PostAsync("DynamoDB_20120810.CreateTable", $$$"""{"TableName":"{{{table}}}","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]}""");
await PostAsync("DynamoDB_20120810.EnableKinesisStreamingDestination", $$$"""{"TableName":"{{{table}}}","StreamArn":"{{{arn}}}"}""");
while (!(await PostAsync("DynamoDB_20120810.DescribeKinesisStreamingDestination", $$$"""{"TableName":"{{{table}}}"}""")).Contains("\"ACTIVE\"", StringComparison.Ordinal))
    await Task.Delay(100);

var total = rate * seconds;
var acked = new double[total];       // epoch ms when the write was acknowledged
var arrived = new double[total];     // ApproximateArrivalTimestamp, epoch ms
var observed = new double[total];    // epoch ms when GetRecords returned it
var found = 0;
using var done = new CancellationTokenSource();
var readers = Enumerable.Range(0, shards).Select(s => Task.Run(() => ReadShardAsync($"shardId-{s:D12}", done.Token))).ToArray();

var clock = Stopwatch.StartNew();
var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
{
    for (var i = w; i < total; i += 16)
    {
        var wait = TimeSpan.FromSeconds((double)i / rate) - clock.Elapsed;
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        await PostAsync("DynamoDB_20120810.PutItem", $$$"""{"TableName":"{{{table}}}","Item":{"pk":{"S":"item-{{{i}}}"},"i":{"N":"{{{i}}}"},"payload":{"S":"{{{Payload}}}"} } }""");
        acked[i] = NowMs();
    }
})).ToArray();
await Task.WhenAll(writers);
var achieved = total / clock.Elapsed.TotalSeconds;
var deadline = DateTime.UtcNow.AddSeconds(60);
while (Volatile.Read(ref found) < total && DateTime.UtcNow < deadline) await Task.Delay(100);
await done.CancelAsync();
await Task.WhenAll(readers);

var delivery = new List<double>();
var consumer = new List<double>();
for (var i = 0; i < total; i++)
{
    if (arrived[i] == 0) continue;
    delivery.Add(Math.Max(0, arrived[i] - acked[i]));
    consumer.Add(Math.Max(0, observed[i] - acked[i]));
}

delivery.Sort();
consumer.Sort();
Console.WriteLine($"writes: {total} at {achieved:F0}/s over {shards} shards; delivered {delivery.Count}/{total}");
if (delivery.Count > 0)
{
    Console.WriteLine($"delivery lag (acknowledged -> appended to Kinesis): p50={P(delivery, 0.5):F1} ms  p99={P(delivery, 0.99):F1} ms  max={delivery[^1]:F1} ms");
    Console.WriteLine($"consumer lag (acknowledged -> returned by GetRecords, polling 5/s/shard): p50={P(consumer, 0.5):F1} ms  p99={P(consumer, 0.99):F1} ms  max={consumer[^1]:F1} ms");
}

return delivery.Count == total ? 0 : 1;

async Task ReadShardAsync(string shardId, CancellationToken ct)
{
    using var it = JsonDocument.Parse(await PostAsync("Kinesis_20131202.GetShardIterator", $$$"""{"StreamName":"{{{stream}}}","ShardId":"{{{shardId}}}","ShardIteratorType":"TRIM_HORIZON"}""", Json11));
    var iterator = it.RootElement.GetProperty("ShardIterator").GetString();
    while (!ct.IsCancellationRequested)
    {
        var started = Stopwatch.StartNew();
        using var page = JsonDocument.Parse(await PostAsync("Kinesis_20131202.GetRecords", $$$"""{"ShardIterator":"{{{iterator}}}","Limit":10000}""", Json11));
        var now = NowMs();
        foreach (var record in page.RootElement.GetProperty("Records").EnumerateArray())
        {
            using var body = JsonDocument.Parse(record.GetProperty("Data").GetBytesFromBase64());
            var image = body.RootElement.GetProperty("dynamodb").GetProperty("NewImage");
            var i = int.Parse(image.GetProperty("i").GetProperty("N").GetString()!, CultureInfo.InvariantCulture);
            if (i >= total || arrived[i] != 0) continue;
            arrived[i] = record.GetProperty("ApproximateArrivalTimestamp").GetDouble() * 1000;
            observed[i] = now;
            Interlocked.Increment(ref found);
        }

        iterator = page.RootElement.GetProperty("NextShardIterator").GetString();
        var pause = TimeSpan.FromMilliseconds(200) - started.Elapsed; // five GetRecords per second per shard
        if (pause > TimeSpan.Zero)
        {
            try { await Task.Delay(pause, ct); }
            catch (OperationCanceledException) { return; }
        }
    }
}

async Task<string> PostAsync(string target, string body, string contentType = "application/x-amz-json-1.0")
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
    request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
    request.Headers.Add("X-Amz-Target", target);
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{target}: {(int)response.StatusCode} {text}");
    return text;
}

static double NowMs() => DateTime.UtcNow.Ticks / 10_000.0 - 62135596800000.0;

static double P(List<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

partial class Program
{
    private const string Json11 = "application/x-amz-json-1.1";
    private static readonly string Payload = new('x', 100);
}
