using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;
using static Serverless.IntegrationTests.Api.ApiTables;
using static Serverless.IntegrationTests.Infrastructure.ApiAssert;

namespace Serverless.IntegrationTests.Exports;

/// <summary>
/// ExportTableToPointInTime (full and incremental, DynamoDB JSON and Ion) and ImportTable through the AWS SDK against
/// the host, reading the files from its S3 folder (<c>&lt;data-dir&gt;/s3/&lt;bucket&gt;/…</c>).
/// </summary>
public sealed class ExportTests
{
    private const string Bucket = "exports-bucket";

    private static async Task<string> CreatePitrTableAsync(IAmazonDynamoDB client, string name)
    {
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = name, BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new("pk", KeyType.HASH), new("sk", KeyType.RANGE)],
            AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.N), new("g", ScalarAttributeType.S)],
            GlobalSecondaryIndexes = [new() { IndexName = "by-g", KeySchema = [new("g", KeyType.HASH)], Projection = new() { ProjectionType = ProjectionType.ALL } }],
        });
        await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest
        {
            TableName = name, PointInTimeRecoverySpecification = new() { PointInTimeRecoveryEnabled = true },
        });
        return (await client.DescribeTableAsync(name)).Table.TableArn;
    }

    private static Dictionary<string, AttributeValue> Item(int i, int version) => new()
    {
        ["pk"] = S($"p{i % 7}"), ["sk"] = N(i.ToString()), ["g"] = S($"g{i % 3}"), ["v"] = N(version.ToString()),
        ["text"] = S($"naïve “text” {i}\n\ttab"), ["big"] = N("12300000000000000000000"), ["frac"] = N("-0.015"),
        ["bin"] = new() { B = new MemoryStream([(byte)i, 0, 255]) }, ["flag"] = new() { BOOL = i % 2 == 0 }, ["nothing"] = new() { NULL = true },
        ["list"] = new() { L = [S("a"), N("1"), new() { M = new() { ["deep"] = S("x") } }] },
        ["map"] = new() { M = new() { ["k"] = N(i.ToString()), ["odd-name"] = S("y") } },
        ["ss"] = new() { SS = ["x", "y"] }, ["ns"] = new() { NS = ["1", "2.5"] }, ["bs"] = new() { BS = [new MemoryStream([1]), new MemoryStream([2])] },
    };

    private static string KeyOf(Dictionary<string, AttributeValue> item) => item["pk"].S + "/" + item["sk"].N;

    private static async Task<DateTime> NextSecondAsync()
    {
        await Task.Delay(1100);
        var point = DateTime.UtcNow;
        point = new DateTime(point.Ticks - (point.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        await Task.Delay(1100);
        return point;
    }

    private static async Task<List<string>> ScanCanonicalAsync(IAmazonDynamoDB client, string table) =>
        [.. (await ScanAllAsync(client, new ScanRequest { TableName = table, ConsistentRead = true })).Select(ExportFiles.Canonical).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task FullExport_AtANotedSecond_InBothFormats_MatchesTheTableThen_AndImportsBackEqual()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = new Dictionary<string, string> { ["Exports__DataFileBytes"] = "4096" } });
        using var client = host.CreateClient();
        var table = NewName("exp");
        var arn = await CreatePitrTableAsync(client, table);
        await Task.Delay(1100);

        var model = new Dictionary<string, Dictionary<string, AttributeValue>>();
        for (var i = 0; i < 40; i++)
        {
            var item = Item(i, 1);
            await client.PutItemAsync(table, item);
            model[KeyOf(item)] = item;
        }

        var noted = await NextSecondAsync();
        var expected = model.Values.Select(ExportFiles.Canonical).Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < 10; i++) await client.PutItemAsync(table, Item(i, 2));
        for (var i = 10; i < 15; i++) await client.DeleteItemAsync(table, new() { ["pk"] = S($"p{i % 7}"), ["sk"] = N(i.ToString()) });
        for (var i = 40; i < 50; i++) await client.PutItemAsync(table, Item(i, 1));

        // Exports at the noted second in both formats, and one at the present, while writes go on.
        var json = await client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest
        {
            TableArn = arn, S3Bucket = Bucket, S3Prefix = "full/json", ExportTime = noted, ExportFormat = ExportFormat.DYNAMODB_JSON, ClientToken = "json-1",
        });
        Assert.Equal(ExportStatus.IN_PROGRESS, json.ExportDescription.ExportStatus);
        Assert.Equal(ExportType.FULL_EXPORT, json.ExportDescription.ExportType);
        var again = await client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest
        {
            TableArn = arn, S3Bucket = Bucket, S3Prefix = "full/json", ExportTime = noted, ExportFormat = ExportFormat.DYNAMODB_JSON, ClientToken = "json-1",
        });
        Assert.Equal(json.ExportDescription.ExportArn, again.ExportDescription.ExportArn);
        await Assert.ThrowsAsync<ExportConflictException>(() => client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest
        {
            TableArn = arn, S3Bucket = Bucket, S3Prefix = "elsewhere", ExportTime = noted, ClientToken = "json-1",
        }));
        var ion = await client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest
        {
            TableArn = arn, S3Bucket = Bucket, S3Prefix = "full/ion", ExportTime = noted, ExportFormat = ExportFormat.ION,
        });
        var current = await client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest { TableArn = arn, S3Bucket = Bucket });
        var writer = Task.Run(async () =>
        {
            for (var i = 100; i < 160; i++) await client.PutItemAsync(table, Item(i, 1));
        });

        var jsonDone = await ExportFiles.WaitAsync(client, json.ExportDescription.ExportArn);
        Assert.Equal(ExportStatus.COMPLETED, jsonDone.ExportStatus);
        Assert.Equal(40, jsonDone.ItemCount);
        Assert.True(jsonDone.BilledSizeBytes > 0);
        var lines = ExportFiles.VerifyAndReadLines(host, jsonDone, ".json.gz");
        Assert.True(lines.Count > 0);
        var exported = lines.Select(l =>
        {
            using var doc = JsonDocument.Parse(l);
            Assert.Equal(["Item"], doc.RootElement.EnumerateObject().Select(p => p.Name));
            return ExportFiles.Canonical(doc.RootElement.GetProperty("Item"));
        }).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, exported);
        var files = File.ReadAllLines(ExportFiles.ObjectPath(host, Bucket, "full/json/AWSDynamoDB/" + jsonDone.ExportArn.Split('/')[^1] + "/manifest-files.json"));
        Assert.True(files.Length > 1, "a 4 KiB file limit must split 40 items over several data files");

        var ionDone = await ExportFiles.WaitAsync(client, ion.ExportDescription.ExportArn);
        Assert.Equal(ExportStatus.COMPLETED, ionDone.ExportStatus);
        Assert.Equal(40, ionDone.ItemCount);
        var ionLines = ExportFiles.VerifyAndReadLines(host, ionDone, ".ion.gz");
        Assert.All(ionLines, l => Assert.StartsWith("$ion_1_0 {Item:{", l));
        Assert.Contains(ionLines, l => l.Contains("ss:$dynamodb_SS::[", StringComparison.Ordinal) && l.Contains("big:123d20", StringComparison.Ordinal));

        await writer;
        var currentDone = await ExportFiles.WaitAsync(client, current.ExportDescription.ExportArn);
        Assert.Equal(ExportStatus.COMPLETED, currentDone.ExportStatus);
        Assert.Null(currentDone.S3Prefix);
        Assert.Equal(45, ExportFiles.VerifyAndReadLines(host, currentDone, ".json.gz").Count);

        var listed = await client.ListExportsAsync(new ListExportsRequest { TableArn = arn, MaxResults = 2 });
        Assert.Equal(2, listed.ExportSummaries.Count);
        Assert.NotNull(listed.NextToken);
        var rest = await client.ListExportsAsync(new ListExportsRequest { TableArn = arn, NextToken = listed.NextToken });
        Assert.Single(rest.ExportSummaries);
        await Assert.ThrowsAsync<ExportNotFoundException>(() => client.DescribeExportAsync(new DescribeExportRequest { ExportArn = arn + "/export/01234567890123-deadbeef" }));

        // Both exports imported back: a table equal to the original at the noted second, indexes included.
        foreach (var (done, format) in new[] { (jsonDone, InputFormat.DYNAMODB_JSON), (ionDone, InputFormat.ION) })
        {
            var target = NewName("back");
            var started = await client.ImportTableAsync(new ImportTableRequest
            {
                S3BucketSource = new S3BucketSource { S3Bucket = Bucket, S3KeyPrefix = done.S3Prefix + "/AWSDynamoDB/" + done.ExportArn.Split('/')[^1] + "/data/" },
                InputFormat = format, InputCompressionType = InputCompressionType.GZIP,
                TableCreationParameters = new TableCreationParameters
                {
                    TableName = target, BillingMode = BillingMode.PAY_PER_REQUEST,
                    KeySchema = [new("pk", KeyType.HASH), new("sk", KeyType.RANGE)],
                    AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.N), new("g", ScalarAttributeType.S)],
                    GlobalSecondaryIndexes = [new() { IndexName = "by-g", KeySchema = [new("g", KeyType.HASH)], Projection = new() { ProjectionType = ProjectionType.ALL } }],
                },
            });
            Assert.Equal(ImportStatus.IN_PROGRESS, started.ImportTableDescription.ImportStatus);
            var imported = await ExportFiles.WaitImportAsync(client, started.ImportTableDescription.ImportArn);
            Assert.Equal(ImportStatus.COMPLETED, imported.ImportStatus);
            Assert.Equal(40, imported.ImportedItemCount);
            Assert.Equal(40, imported.ProcessedItemCount);
            Assert.Equal(0, imported.ErrorCount);
            Assert.Equal(TableStatus.ACTIVE, (await client.DescribeTableAsync(target)).Table.TableStatus);
            Assert.Equal(expected, await ScanCanonicalAsync(client, target));
            var byG = await QueryAllAsync(client, new QueryRequest
            {
                TableName = target, IndexName = "by-g", KeyConditionExpression = "g = :g", ExpressionAttributeValues = new() { [":g"] = S("g1") },
            });
            Assert.Equal(model.Values.Count(i => i["g"].S == "g1"), byG.Count);
        }
    }

    [Fact]
    public async Task IncrementalExport_OfAWindow_HasEachChangedItemsLastStateAndItsStateBefore()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = new Dictionary<string, string> { ["LocalHost__ClockControl"] = "true" } });
        using var client = host.CreateClient();
        var table = NewName("inc");
        var arn = await CreatePitrTableAsync(client, table);
        await Task.Delay(1100);
        Dictionary<string, AttributeValue> K(int i) => new() { ["pk"] = S($"p{i % 7}"), ["sk"] = N(i.ToString()) };
        for (var i = 0; i < 6; i++) await client.PutItemAsync(table, Item(i, 1));

        DateTime HostNow()
        {
            var now = DateTime.UtcNow + host.ClockOffset;
            return new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        }

        await Task.Delay(1100);
        var from = HostNow().AddSeconds(1);
        await Task.Delay(2100);
        await client.PutItemAsync(table, Item(0, 2)); // updated
        await client.DeleteItemAsync(table, K(1)); // deleted
        await client.PutItemAsync(table, Item(10, 1)); // created
        await client.PutItemAsync(table, Item(11, 1)); // created, then deleted: absent
        await client.DeleteItemAsync(table, K(11));
        await client.PutItemAsync(table, Item(2, 2)); // updated twice: its last state
        await client.PutItemAsync(table, Item(2, 3));
        await host.AdvanceClockAsync(TimeSpan.FromMinutes(16));
        await Task.Delay(1100);
        var to = HostNow();
        await Task.Delay(1100);
        await client.PutItemAsync(table, Item(3, 2)); // after the window
        await client.DeleteItemAsync(table, K(4));

        var shortWindow = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest
        {
            TableArn = arn, S3Bucket = Bucket, ExportType = ExportType.INCREMENTAL_EXPORT,
            IncrementalExportSpecification = new IncrementalExportSpecification { ExportFromTime = from, ExportToTime = from.AddMinutes(5) },
        }));
        Assert.Equal("ValidationException", shortWindow.ErrorCode);

        foreach (var view in new[] { ExportViewType.NEW_AND_OLD_IMAGES, ExportViewType.NEW_IMAGE })
        {
            var started = await client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest
            {
                TableArn = arn, S3Bucket = Bucket, S3Prefix = "inc", ExportType = ExportType.INCREMENTAL_EXPORT,
                IncrementalExportSpecification = new IncrementalExportSpecification { ExportFromTime = from, ExportToTime = to, ExportViewType = view },
            });
            var done = await ExportFiles.WaitAsync(client, started.ExportDescription.ExportArn);
            Assert.Equal(ExportStatus.COMPLETED, done.ExportStatus);
            Assert.Equal(view, done.IncrementalExportSpecification.ExportViewType);
            Assert.Equal(4, done.ItemCount);
            var records = ExportFiles.VerifyAndReadLines(host, done, ".json.gz").Select(l => JsonDocument.Parse(l).RootElement).ToList();
            var byKey = records.ToDictionary(r => ExportFiles.Canonical(r.GetProperty("Keys")));
            string Key(int i) => ExportFiles.Canonical(K(i));
            Assert.Equal(new[] { Key(0), Key(1), Key(10), Key(2) }.Order(), byKey.Keys.Order());
            var withOld = view == ExportViewType.NEW_AND_OLD_IMAGES;
            foreach (var r in records)
            {
                var micros = long.Parse(r.GetProperty("Metadata").GetProperty("WriteTimestampMicros").GetProperty("N").GetString()!);
                var at = DateTime.UnixEpoch.AddTicks(micros * 10);
                Assert.InRange(at, from, to);
            }

            Assert.Equal(ExportFiles.Canonical(Item(0, 2)), ExportFiles.Canonical(byKey[Key(0)].GetProperty("NewImage")));
            Assert.False(byKey[Key(1)].TryGetProperty("NewImage", out _));
            Assert.Equal(ExportFiles.Canonical(Item(10, 1)), ExportFiles.Canonical(byKey[Key(10)].GetProperty("NewImage")));
            Assert.False(byKey[Key(10)].TryGetProperty("OldImage", out _));
            Assert.Equal(ExportFiles.Canonical(Item(2, 3)), ExportFiles.Canonical(byKey[Key(2)].GetProperty("NewImage")));
            Assert.Equal(withOld, byKey[Key(0)].TryGetProperty("OldImage", out var old0));
            if (withOld)
            {
                Assert.Equal(ExportFiles.Canonical(Item(0, 1)), ExportFiles.Canonical(old0));
                Assert.Equal(ExportFiles.Canonical(Item(1, 1)), ExportFiles.Canonical(byKey[Key(1)].GetProperty("OldImage")));
                Assert.Equal(ExportFiles.Canonical(Item(2, 1)), ExportFiles.Canonical(byKey[Key(2)].GetProperty("OldImage")));
            }
        }
    }

    [Fact]
    public async Task Import_OfEveryFormatAndCompression_CountsItemErrorsAndLogsThem()
    {
        await using var host = await HostProcess.StartAsync();
        using var client = host.CreateClient();
        string Write(string key, byte[] content)
        {
            var path = ExportFiles.ObjectPath(host, Bucket, key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, content);
            return path;
        }

        static byte[] Gzip(byte[] raw)
        {
            var o = new MemoryStream();
            using (var gz = new GZipStream(o, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
            return o.ToArray();
        }

        static byte[] Zstd(byte[] raw)
        {
            using var compressor = new ZstdSharp.Compressor();
            return compressor.Wrap(raw).ToArray();
        }

        // Five good items, a missing key, malformed JSON, a key of the wrong type, a wrong index key type.
        var jsonLines = new StringBuilder();
        for (var i = 0; i < 5; i++) jsonLines.Append("{\"Item\":{\"pk\":{\"S\":\"j").Append(i).Append("\"},\"sk\":{\"N\":\"").Append(i).Append("\"},\"g\":{\"S\":\"x\"},\"set\":{\"SS\":[\"a\",\"b\"]}}}\n");
        jsonLines.Append("{\"Item\":{\"sk\":{\"N\":\"1\"}}}\n");
        jsonLines.Append("{\"Item\":{\"pk\":{\"S\":\"broken\"\n");
        jsonLines.Append("{\"Item\":{\"pk\":{\"N\":\"5\"},\"sk\":{\"N\":\"1\"}}}\n");
        jsonLines.Append("{\"Item\":{\"pk\":{\"S\":\"j9\"},\"sk\":{\"N\":\"9\"},\"g\":{\"N\":\"1\"}}}\n");
        var jsonBytes = Encoding.UTF8.GetBytes(jsonLines.ToString());

        const string ion = "$ion_1_0 {Item:{pk:\"i0\",sk:1.,g:\"x\",n:6d2,b:{{AQI=}},ok:true,nil:null,l:[1,\"two\"],m:{'odd-name':\"v\"},ss:$dynamodb_SS::[\"a\",\"b\"],ns:$dynamodb_NS::[1.,2.5],bs:$dynamodb_BS::[{{AQ==}}]}}\n"
            + "$ion_1_0 {Item:{pk:\"i1\",sk:2d1}}\n$ion_1_0 {Item:{sk:3.}}\n";
        const string csvWithHeader = "pk,sk,name,count\nc0,1,Ann,5\n\"c1, quoted\",2,\"Bob \"\"B\"\"\",6\nc2,notanumber,Cy,7\n";
        const string csvNoHeader = "h0;10;x\nh1;11;y\n";

        var cases = new (string Prefix, InputFormat Format, InputCompressionType Compression, byte[] Content, CsvOptions? Csv, long Processed, long Imported, long Errors)[]
        {
            ("in/json-none/", InputFormat.DYNAMODB_JSON, InputCompressionType.NONE, jsonBytes, null, 9, 5, 4),
            ("in/json-gzip/", InputFormat.DYNAMODB_JSON, InputCompressionType.GZIP, Gzip(jsonBytes), null, 9, 5, 4),
            ("in/json-zstd/", InputFormat.DYNAMODB_JSON, InputCompressionType.ZSTD, Zstd(jsonBytes), null, 9, 5, 4),
            ("in/ion-gzip/", InputFormat.ION, InputCompressionType.GZIP, Gzip(Encoding.UTF8.GetBytes(ion)), null, 3, 2, 1),
            ("in/ion-zstd/", InputFormat.ION, InputCompressionType.ZSTD, Zstd(Encoding.UTF8.GetBytes(ion)), null, 3, 2, 1),
            ("in/csv-none/", InputFormat.CSV, InputCompressionType.NONE, Encoding.UTF8.GetBytes(csvWithHeader), null, 3, 2, 1),
            ("in/csv-zstd/", InputFormat.CSV, InputCompressionType.ZSTD, Zstd(Encoding.UTF8.GetBytes(csvNoHeader)), new CsvOptions { Delimiter = ";", HeaderList = ["pk", "sk", "note"] }, 2, 2, 0),
        };
        foreach (var c in cases)
        {
            Write(c.Prefix + "part-0001", c.Content);
            var name = NewName("imp");
            var started = await client.ImportTableAsync(new ImportTableRequest
            {
                S3BucketSource = new S3BucketSource { S3Bucket = Bucket, S3KeyPrefix = c.Prefix },
                InputFormat = c.Format, InputCompressionType = c.Compression,
                InputFormatOptions = c.Csv == null ? null : new InputFormatOptions { Csv = c.Csv },
                TableCreationParameters = new TableCreationParameters
                {
                    TableName = name, BillingMode = BillingMode.PAY_PER_REQUEST,
                    KeySchema = [new("pk", KeyType.HASH), new("sk", KeyType.RANGE)],
                    AttributeDefinitions = [new("pk", ScalarAttributeType.S), new("sk", ScalarAttributeType.N), new("g", ScalarAttributeType.S)],
                    GlobalSecondaryIndexes = [new() { IndexName = "by-g", KeySchema = [new("g", KeyType.HASH)], Projection = new() { ProjectionType = ProjectionType.KEYS_ONLY } }],
                },
            });
            var d = await ExportFiles.WaitImportAsync(client, started.ImportTableDescription.ImportArn, host: host);
            Assert.True(d.ImportStatus == ImportStatus.COMPLETED, $"{c.Prefix}: {d.ImportStatus} {d.FailureCode} {d.FailureMessage}");
            Assert.Equal((c.Prefix, c.Processed, c.Imported, c.Errors), (c.Prefix, d.ProcessedItemCount, d.ImportedItemCount, d.ErrorCount));
            Assert.Equal(c.Content.Length, d.ProcessedSizeBytes);
            Assert.Equal(name, d.TableCreationParameters.TableName);
            Assert.StartsWith("arn:aws:logs:us-east-1:000000000000:log-group:/aws-dynamodb/imports", d.CloudWatchLogGroupArn);
            Assert.Equal(TableStatus.ACTIVE, (await client.DescribeTableAsync(name)).Table.TableStatus);
            var items = await ScanAllAsync(client, new ScanRequest { TableName = name });
            Assert.Equal(c.Imported, items.Count);
            var log = Path.Combine(host.DataDirectory, "cloudwatch", "aws-dynamodb", "imports", d.ImportArn.Split('/')[^1], "error.log");
            if (c.Errors == 0) Assert.False(File.Exists(log));
            else
            {
                var entries = File.ReadAllLines(log);
                Assert.Equal(c.Errors, entries.Length);
                using var first = JsonDocument.Parse(entries[0]);
                Assert.Equal(d.ImportArn, first.RootElement.GetProperty("importArn").GetString());
                Assert.Equal(c.Prefix + "part-0001", first.RootElement.GetProperty("itemS3Pointer").GetProperty("key").GetString());
            }

            if (c.Format == InputFormat.CSV && c.Csv == null)
            {
                var quoted = items.Single(i => i["pk"].S == "c1, quoted");
                Assert.Equal("Bob \"B\"", quoted["name"].S);
                Assert.Equal("6", quoted["count"].S); // CSV values are strings, except the keys, typed by the key schema
                Assert.Equal("2", quoted["sk"].N);
            }
            else if (c.Format == InputFormat.ION)
            {
                var i0 = items.Single(i => i["pk"].S == "i0");
                Assert.Equal("600", i0["n"].N);
                Assert.Equal([1, 2], i0["b"].B.ToArray());
                Assert.True(i0["ok"].BOOL);
                Assert.True(i0["nil"].NULL);
                Assert.Equal(["a", "b"], i0["ss"].SS.Order());
                Assert.Equal(["1", "2.5"], i0["ns"].NS.Order());
                Assert.Equal("v", i0["m"].M["odd-name"].S);
                Assert.Equal("20", items.Single(i => i["pk"].S == "i1")["sk"].N);
            }
        }

        var imports = await client.ListImportsAsync(new ListImportsRequest());
        Assert.Equal(cases.Length, imports.ImportSummaryList.Count);

        // A bucket that does not exist: FAILED, and the table is gone; an existing table: refused at once.
        var missing = NewName("imp");
        var failed = await client.ImportTableAsync(new ImportTableRequest
        {
            S3BucketSource = new S3BucketSource { S3Bucket = "no-such-bucket" }, InputFormat = InputFormat.DYNAMODB_JSON,
            TableCreationParameters = new TableCreationParameters
            {
                TableName = missing, BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [new("pk", KeyType.HASH)], AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
            },
        });
        var failure = await ExportFiles.WaitImportAsync(client, failed.ImportTableDescription.ImportArn);
        Assert.Equal(ImportStatus.FAILED, failure.ImportStatus);
        Assert.Equal("S3NoSuchBucket", failure.FailureCode);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.DescribeTableAsync(missing));
        var existing = (await client.ListTablesAsync()).TableNames[0];
        await Assert.ThrowsAsync<ResourceInUseException>(() => client.ImportTableAsync(new ImportTableRequest
        {
            S3BucketSource = new S3BucketSource { S3Bucket = Bucket }, InputFormat = InputFormat.CSV,
            TableCreationParameters = new TableCreationParameters
            {
                TableName = existing, BillingMode = BillingMode.PAY_PER_REQUEST, KeySchema = [new("pk", KeyType.HASH)], AttributeDefinitions = [new("pk", ScalarAttributeType.S)],
            },
        }));
        await Assert.ThrowsAsync<ImportNotFoundException>(() => client.DescribeImportAsync(new DescribeImportRequest { ImportArn = failed.ImportTableDescription.ImportArn + "x" }));
    }

    private static async Task AssertThrowsAsync<T>(string message, Func<Task> call) where T : AmazonDynamoDBException
    {
        var e = await Assert.ThrowsAsync<T>(call);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public async Task Export_Refusals_AsAws()
    {
        await using var host = await HostProcess.StartAsync();
        using var client = host.CreateClient();
        var table = await CreateAsync(client, "nopitr");
        var arn = (await client.DescribeTableAsync(table)).Table.TableArn;
        await AssertThrowsAsync<PointInTimeRecoveryUnavailableException>($"Point in time recovery is not enabled for table '{table}'",
            () => client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest { TableArn = arn, S3Bucket = Bucket }));
        await client.UpdateContinuousBackupsAsync(new UpdateContinuousBackupsRequest { TableName = table, PointInTimeRecoverySpecification = new() { PointInTimeRecoveryEnabled = true } });
        await AssertThrowsAsync<InvalidExportTimeException>("Export Time is invalid",
            () => client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest { TableArn = arn, S3Bucket = Bucket, ExportTime = DateTime.UtcNow.AddDays(-3) }));
        await AssertThrowsAsync<InvalidExportTimeException>("Export Time is invalid",
            () => client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest { TableArn = arn, S3Bucket = Bucket, ExportTime = DateTime.UtcNow.AddHours(1) }));
        await AssertThrowsAsync<TableNotFoundException>("Table not found: " + arn + "x",
            () => client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest { TableArn = arn + "x", S3Bucket = Bucket }));
        await AssertValidationAsync("1 validation error detected: Value 'QWERTY' at 'exportFormat' failed to satisfy constraint: Member must satisfy enum value set: [ION, DYNAMODB_JSON]",
            () => client.ExportTableToPointInTimeAsync(new ExportTableToPointInTimeRequest { TableArn = arn, S3Bucket = Bucket, ExportFormat = "QWERTY" }));
    }
}
