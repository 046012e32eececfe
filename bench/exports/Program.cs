// Export and import benchmark: starts the local host (its built Serverless.Host.dll) on a temp data directory, writes
// N items as gzip'd DynamoDB JSON files into the host's S3 folder, imports them with ImportTable, then exports the
// table with ExportTableToPointInTime (DynamoDB JSON and Ion), and prints items/s for each phase (from the host's
// StartTime/EndTime and from the wall clock) and the host's peak RSS during each phase (sampled every 50 ms from
// /proc/<pid>/status).
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

var items = IntArg("items", 1_000_000);
var perFile = IntArg("per-file", 100_000);
var repo = FindRepo();
var dll = StringArg("host-dll", null) ?? Path.Combine(repo, "src", "Host", "bin", "Release", "net10.0", "Serverless.Host.dll");
if (!File.Exists(dll)) dll = Path.Combine(repo, "src", "Host", "bin", "Debug", "net10.0", "Serverless.Host.dll");
var work = Directory.CreateTempSubdirectory("export-bench-").FullName;
var data = Path.Combine(work, "data");
Console.WriteLine($"items={items} host={dll} data={data}");

// The source files: ~120-byte items, as an export of a small-item table would hold.
var seed = Path.Combine(data, "s3", "bench", "seed");
Directory.CreateDirectory(seed);
var line = new StringBuilder();
for (var f = 0; f * perFile < items; f++)
{
    await using var gz = new GZipStream(File.Create(Path.Combine(seed, $"part-{f:D5}.json.gz")), CompressionLevel.Fastest);
    await using var w = new StreamWriter(gz);
    for (var i = f * perFile; i < Math.Min(items, (f + 1) * perFile); i++)
    {
        line.Clear();
        line.Append("{\"Item\":{\"pk\":{\"S\":\"user#").Append(i).Append("\"},\"sk\":{\"N\":\"").Append(i % 1000).Append("\"},\"name\":{\"S\":\"name-")
            .Append(i).Append("\"},\"score\":{\"N\":\"").Append(i * 7 % 100000).Append("\"},\"tags\":{\"SS\":[\"a\",\"b\"]},\"active\":{\"BOOL\":true}}}");
        await w.WriteLineAsync(line);
    }
}

var port = FreePort();
var host = Process.Start(new ProcessStartInfo("dotnet", [dll, "--port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", data])
{
    RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = work,
})!;
var listening = new TaskCompletionSource();
host.OutputDataReceived += (_, e) =>
{
    if (e.Data?.Contains("Now listening on", StringComparison.Ordinal) == true) listening.TrySetResult();
};
host.ErrorDataReceived += (_, _) => { };
host.BeginOutputReadLine();
host.BeginErrorReadLine();
try
{
    await listening.Task.WaitAsync(TimeSpan.FromSeconds(120));
    using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
    var idle = Rss(host.Id);
    Console.WriteLine($"host RSS at start: {Mb(idle)}");

    var table = "bench" + Guid.NewGuid().ToString("N")[..8];
    var imp = await PostAsync(http, "ImportTable",
        "{\"S3BucketSource\":{\"S3Bucket\":\"bench\",\"S3KeyPrefix\":\"seed/\"},\"InputFormat\":\"DYNAMODB_JSON\",\"InputCompressionType\":\"GZIP\","
        + "\"TableCreationParameters\":{\"TableName\":\"" + table + "\",\"BillingMode\":\"PAY_PER_REQUEST\","
        + "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}],"
        + "\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},{\"AttributeName\":\"sk\",\"AttributeType\":\"N\"}]}}");
    var importArn = imp.GetProperty("ImportTableDescription").GetProperty("ImportArn").GetString()!;
    var (importDesc, importWall, importPeak) = await WaitAsync(http, host.Id, "DescribeImport", $$"""{"ImportArn":"{{importArn}}"}""", "ImportTableDescription", "ImportStatus");
    Report("import DYNAMODB_JSON GZIP", importDesc, "ImportedItemCount", importWall, importPeak);

    var tableArn = (await PostAsync(http, "DescribeTable", $$"""{"TableName":"{{table}}"}""")).GetProperty("Table").GetProperty("TableArn").GetString()!;
    await PostAsync(http, "UpdateContinuousBackups", "{\"TableName\":\"" + table + "\",\"PointInTimeRecoverySpecification\":{\"PointInTimeRecoveryEnabled\":true}}");
    await Task.Delay(1100);
    foreach (var format in new[] { "DYNAMODB_JSON", "ION" })
    {
        var exp = await PostAsync(http, "ExportTableToPointInTime", $$"""{"TableArn":"{{tableArn}}","S3Bucket":"bench","S3Prefix":"out-{{format}}","ExportFormat":"{{format}}"}""");
        var exportArn = exp.GetProperty("ExportDescription").GetProperty("ExportArn").GetString()!;
        var (exportDesc, exportWall, exportPeak) = await WaitAsync(http, host.Id, "DescribeExport", $$"""{"ExportArn":"{{exportArn}}"}""", "ExportDescription", "ExportStatus");
        Report($"export FULL {format}", exportDesc, "ItemCount", exportWall, exportPeak);
    }

    Console.WriteLine($"host peak RSS over the whole run (VmHWM): {Mb(Hwm(host.Id))}");
}
finally
{
    host.Kill(entireProcessTree: true);
    await host.WaitForExitAsync();
    if (!Environment.GetCommandLineArgs().Contains("--keep")) Directory.Delete(work, recursive: true);
}

void Report(string phase, JsonElement d, string countMember, TimeSpan wall, long peak)
{
    var count = d.GetProperty(countMember).GetInt64();
    var seconds = d.GetProperty("EndTime").GetDouble() - d.GetProperty("StartTime").GetDouble();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{phase,-28} items={count,9} host={seconds,7:F2}s {count / seconds,9:F0} items/s  wall={wall.TotalSeconds,7:F2}s {count / wall.TotalSeconds,9:F0} items/s  peak RSS={Mb(peak)}"));
}

static async Task<(JsonElement Description, TimeSpan Wall, long PeakRss)> WaitAsync(HttpClient http, int pid, string op, string body, string member, string status)
{
    var watch = Stopwatch.StartNew();
    var peak = 0L;
    var nextPoll = TimeSpan.Zero;
    while (true)
    {
        peak = Math.Max(peak, Rss(pid));
        if (watch.Elapsed >= nextPoll)
        {
            var d = (await PostAsync(http, op, body)).GetProperty(member);
            if (d.GetProperty(status).GetString() != "IN_PROGRESS")
            {
                if (d.GetProperty(status).GetString() != "COMPLETED") throw new InvalidOperationException(d.ToString());
                return (d.Clone(), watch.Elapsed, peak);
            }

            nextPoll = watch.Elapsed + TimeSpan.FromMilliseconds(250);
        }

        await Task.Delay(50);
    }
}

static long Rss(int pid) => Status(pid, "VmRSS:");

static long Hwm(int pid) => Status(pid, "VmHWM:");

static long Status(int pid, string field)
{
    foreach (var l in File.ReadLines($"/proc/{pid}/status"))
        if (l.StartsWith(field, StringComparison.Ordinal))
            return long.Parse(l[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    return 0;
}

static string Mb(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):F0} MiB");

static async Task<JsonElement> PostAsync(HttpClient http, string target, string body)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
    request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.0");
    request.Headers.TryAddWithoutValidation("X-Amz-Target", "DynamoDB_20120810." + target);
    request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00");
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{target}: {text}");
    using var doc = JsonDocument.Parse(text);
    return doc.RootElement.Clone();
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static string FindRepo()
{
    var dir = AppContext.BaseDirectory;
    while (dir != null && !File.Exists(Path.Combine(dir, "Serverless.sln"))) dir = Path.GetDirectoryName(dir);
    return dir ?? Directory.GetCurrentDirectory();
}

int IntArg(string name, int fallback) => StringArg(name, null) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

string? StringArg(string name, string? fallback)
{
    var i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
