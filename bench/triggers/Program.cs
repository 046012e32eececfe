// Trigger benchmark against a running local host whose mapping delivers --table to the AuditLog function:
//  1. change-to-handler latency: PutItem at a paced rate, each item carrying its send time; the audit file the
//     handler appends to is tailed, and latency = time the line appears - send time (p50/p99).
//  2. GetRecords throughput: reads the table's whole stream from TRIM_HORIZON with Limit=1000 (records/s).
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

var url = Arg("--url", "http://127.0.0.1:8000");
var table = Arg("--table", "TriggerBench");
var audit = Arg("--audit", "data/audit/audit.log");
var rate = int.Parse(Arg("--rate", "1000"), CultureInfo.InvariantCulture);
var seconds = int.Parse(Arg("--seconds", "10"), CultureInfo.InvariantCulture);
var fill = int.Parse(Arg("--fill", "50000"), CultureInfo.InvariantCulture);

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { BaseAddress = new Uri(url) };
await PostAsync("DynamoDB_20120810.CreateTable", $$$"""{"TableName":"{{{table}}}","BillingMode":"PAY_PER_REQUEST","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"StreamSpecification":{"StreamEnabled":true,"StreamViewType":"NEW_AND_OLD_IMAGES"}}""");
await Task.Delay(1500); // the fan-out notices the new stream on its next pass

// 1. Latency under a paced load.
var total = rate * seconds;
var seen = new double[total];
var tail = Task.Run(() => Tail(audit, seen, total));
var clock = Stopwatch.StartNew();
var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
{
    for (var i = w; i < total; i += 16)
    {
        var due = TimeSpan.FromSeconds((double)i / rate);
        var wait = due - clock.Elapsed;
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        var now = Stopwatch.GetTimestamp();
        await PostAsync("DynamoDB_20120810.PutItem", Item(table, i, $",\"t\":{{\"N\":\"{now}\"}}"));
    }
})).ToArray();
await Task.WhenAll(writers);
var achieved = total / clock.Elapsed.TotalSeconds;
await tail.WaitAsync(TimeSpan.FromSeconds(60));
var latencies = seen.ToArray();
Array.Sort(latencies);
Console.WriteLine($"change-to-handler: {total} writes at {achieved:F0}/s  p50={P(latencies, 0.5):F1} ms  p99={P(latencies, 0.99):F1} ms  max={latencies[^1]:F1} ms");

// 2. GetRecords throughput over the whole stream (after an unpaced fill).
var fillClock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
{
    for (var i = total + w; i < total + fill; i += 16)
        await PostAsync("DynamoDB_20120810.PutItem", Item(table, i, ""));
})));
Console.WriteLine($"fill: {fill} writes at {fill / fillClock.Elapsed.TotalSeconds:F0}/s");
using var streams = JsonDocument.Parse(await PostAsync("DynamoDBStreams_20120810.ListStreams", $$$"""{"TableName":"{{{table}}}"}"""));
var arn = streams.RootElement.GetProperty("Streams")[0].GetProperty("StreamArn").GetString();
using var description = JsonDocument.Parse(await PostAsync("DynamoDBStreams_20120810.DescribeStream", $$$"""{"StreamArn":"{{{arn}}}"}"""));
long records = 0, bytes = 0;
var read = Stopwatch.StartNew();
foreach (var shard in description.RootElement.GetProperty("StreamDescription").GetProperty("Shards").EnumerateArray())
{
    using var it = JsonDocument.Parse(await PostAsync("DynamoDBStreams_20120810.GetShardIterator", $$$"""{"StreamArn":"{{{arn}}}","ShardId":"{{{shard.GetProperty("ShardId").GetString()}}}","ShardIteratorType":"TRIM_HORIZON"}"""));
    var iterator = it.RootElement.GetProperty("ShardIterator").GetString();
    while (iterator != null)
    {
        var page = await PostAsync("DynamoDBStreams_20120810.GetRecords", $$$"""{"ShardIterator":"{{{iterator}}}","Limit":1000}""");
        bytes += page.Length;
        using var doc = JsonDocument.Parse(page);
        var n = doc.RootElement.GetProperty("Records").GetArrayLength();
        records += n;
        iterator = n == 0 ? null : doc.RootElement.TryGetProperty("NextShardIterator", out var next) ? next.GetString() : null;
    }
}

Console.WriteLine($"GetRecords: {records} records ({bytes / 1048576.0:F1} MiB) in {read.Elapsed.TotalSeconds:F2} s = {records / read.Elapsed.TotalSeconds:F0} records/s");
return;

async Task<string> PostAsync(string target, string body)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.0");
    request.Headers.Add("X-Amz-Target", target);
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{target}: {(int)response.StatusCode} {text}");
    return text;
}

// Tails the audit file; records when each benchmark item's line appears (ms since its send, via Stopwatch).
static async Task Tail(string path, double[] seen, int total)
{
    var found = 0;
    long offset = 0;
    var pending = new StringBuilder();
    while (found < total)
    {
        if (File.Exists(path))
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(offset, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var chunk = await reader.ReadToEndAsync();
            offset += Encoding.UTF8.GetByteCount(chunk);
            var now = Stopwatch.GetTimestamp();
            pending.Append(chunk);
            var text = pending.ToString();
            var end = text.LastIndexOf('\n');
            if (end >= 0)
            {
                foreach (var line in text[..end].Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    using var doc = JsonDocument.Parse(line);
                    var image = doc.RootElement.GetProperty("dynamodb").GetProperty("NewImage");
                    if (!image.TryGetProperty("t", out var t)) continue;
                    var i = int.Parse(image.GetProperty("i").GetProperty("N").GetString()!, CultureInfo.InvariantCulture);
                    if (i >= total || seen[i] != 0) continue;
                    seen[i] = Stopwatch.GetElapsedTime(long.Parse(t.GetProperty("N").GetString()!, CultureInfo.InvariantCulture), now).TotalMilliseconds;
                    found++;
                }

                pending.Clear().Append(text[(end + 1)..]);
            }
        }

        await Task.Delay(2);
    }
}

// A PutItem body: key k{i}, the number i, 100 bytes of padding, and any extra attributes.
static string Item(string table, int i, string extra) =>
    "{\"TableName\":\"" + table + "\",\"Item\":{\"pk\":{\"S\":\"k" + i + "\"},\"i\":{\"N\":\"" + i + "\"}" + extra
    + ",\"pad\":{\"S\":\"" + new string('x', 100) + "\"}}}";

static double P(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
