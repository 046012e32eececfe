using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Exports;
using Serverless.Engine.Model;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Exports;

/// <summary>
/// The persisted export and import records (golden JSON: a change breaks every data directory with exports), Ion text
/// as AWS writes it (the developer guide's example item), and the checksums of the export manifests.
/// </summary>
public class ExportFormatTests
{
    private const string GoldenExport =
        "{\"Format\":1,\"ExportArn\":\"arn:aws:dynamodb:us-east-1:000000000000:table/Music/export/01700000000000-a1b2c3d4\",\"Status\":\"COMPLETED\","
        + "\"TableArn\":\"arn:aws:dynamodb:us-east-1:000000000000:table/Music\",\"TableId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"TableNumber\":7,"
        + "\"ExportType\":\"INCREMENTAL_EXPORT\",\"ExportFormat\":\"ION\",\"ExportFromTime\":1700000000,\"ExportToTime\":1700003600.5,\"ExportViewType\":\"NEW_IMAGE\","
        + "\"StartTime\":1700004000.25,\"EndTime\":1700004010,\"S3Bucket\":\"bucket\",\"S3Prefix\":\"p/q\",\"S3SseAlgorithm\":\"AES256\",\"ClientToken\":\"t\","
        + "\"ItemCount\":12,\"BilledSizeBytes\":3400,\"ExportManifest\":\"p/q/AWSDynamoDB/01700000000000-a1b2c3d4/manifest-summary.json\"}";

    private const string GoldenImport =
        "{\"Format\":1,\"ImportArn\":\"arn:aws:dynamodb:us-east-1:000000000000:table/Copy/import/01700000000000-a1b2c3d4\",\"Status\":\"FAILED\","
        + "\"TableArn\":\"arn:aws:dynamodb:us-east-1:000000000000:table/Copy\",\"TableId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\",\"TableName\":\"Copy\","
        + "\"S3Bucket\":\"bucket\",\"S3KeyPrefix\":\"in/\",\"InputFormat\":\"CSV\",\"InputCompressionType\":\"ZSTD\",\"CsvDelimiter\":\";\",\"CsvHeaderList\":[\"pk\",\"v\"],"
        + "\"TableCreationParameters\":\"{\\u0022TableName\\u0022:\\u0022Copy\\u0022}\",\"CloudWatchLogGroupArn\":\"arn:aws:logs:us-east-1:000000000000:log-group:/aws-dynamodb/imports:*\","
        + "\"StartTime\":1700000000.5,\"EndTime\":1700000060,\"ProcessedSizeBytes\":100,\"ProcessedItemCount\":10,\"ImportedItemCount\":8,\"ErrorCount\":2,"
        + "\"FailureCode\":\"S3NoSuchKey\",\"FailureMessage\":\"none\"}";

    [Fact]
    public void ExportRecord_SerialisesToGoldenJson_AndReadsItBack()
    {
        var record = new ExportRecord
        {
            ExportArn = "arn:aws:dynamodb:us-east-1:000000000000:table/Music/export/01700000000000-a1b2c3d4", Status = "COMPLETED",
            TableArn = "arn:aws:dynamodb:us-east-1:000000000000:table/Music", TableId = "0f8fad5b-d9cb-469f-a165-70867728950e", TableNumber = 7,
            ExportType = "INCREMENTAL_EXPORT", ExportFormat = "ION", ExportFromTime = 1700000000, ExportToTime = 1700003600.5, ExportViewType = "NEW_IMAGE",
            StartTime = 1700004000.25, EndTime = 1700004010, S3Bucket = "bucket", S3Prefix = "p/q", ClientToken = "t", ItemCount = 12, BilledSizeBytes = 3400,
            ExportManifest = "p/q/AWSDynamoDB/01700000000000-a1b2c3d4/manifest-summary.json",
        };
        Assert.Equal(GoldenExport, Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(record, ExportsJsonContext.Default.ExportRecord)));
        var back = JsonSerializer.Deserialize(GoldenExport, ExportsJsonContext.Default.ExportRecord)!;
        Assert.Equal("01700000000000-a1b2c3d4", back.ExportId);
        Assert.Equal("p/q/AWSDynamoDB/01700000000000-a1b2c3d4", back.BaseKey);
        Assert.Equal("p/q/AWSDynamoDB/data", back.DataKey);
        Assert.Equal(7u, back.TableNumber);
        Assert.Equal(1700003600.5, back.ExportToTime);
    }

    [Fact]
    public void RecordFiles_AreSealed_AndAPlainRecordFromBeforeSealing_IsReadAndSealedAtLoad()
    {
        Assert.Equal(16, (byte)SealedKind.ExportRecord); // the kind byte is in every sealed record's header
        Assert.Equal(17, (byte)SealedKind.ImportRecord);
        var directory = Directory.CreateTempSubdirectory("export-records-").FullName;
        var path = Path.Combine(directory, "01700000000000-a1b2c3d4.json");
        File.WriteAllText(path, GoldenExport); // a record as the previous build wrote it: plain JSON
        var store = new JobStore<ExportRecord>(directory, ExportsJsonContext.Default.ExportRecord, e => e.ExportId, TestKeys.Cipher, SealedKind.ExportRecord);
        store.Load();
        Assert.Equal(12, store.Find("01700000000000-a1b2c3d4")!.ItemCount);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("DDBSEAL1"u8.ToArray(), bytes[..8]);
        Assert.DoesNotContain("Music", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.Equal(GoldenExport, Encoding.UTF8.GetString(SealedFile.ReadFile(path, TestKeys.Cipher, SealedKind.ExportRecord)));

        var reopened = new JobStore<ExportRecord>(directory, ExportsJsonContext.Default.ExportRecord, e => e.ExportId, TestKeys.Cipher, SealedKind.ExportRecord);
        reopened.Load();
        Assert.Equal("COMPLETED", reopened.Find("01700000000000-a1b2c3d4")!.Status);
    }

    [Fact]
    public void ImportRecord_SerialisesToGoldenJson_AndReadsItBack()
    {
        var record = new ImportRecord
        {
            ImportArn = "arn:aws:dynamodb:us-east-1:000000000000:table/Copy/import/01700000000000-a1b2c3d4", Status = "FAILED",
            TableArn = "arn:aws:dynamodb:us-east-1:000000000000:table/Copy", TableId = "0f8fad5b-d9cb-469f-a165-70867728950e", TableName = "Copy",
            S3Bucket = "bucket", S3KeyPrefix = "in/", InputFormat = "CSV", InputCompressionType = "ZSTD", CsvDelimiter = ";", CsvHeaderList = ["pk", "v"],
            TableCreationParameters = "{\"TableName\":\"Copy\"}", CloudWatchLogGroupArn = "arn:aws:logs:us-east-1:000000000000:log-group:/aws-dynamodb/imports:*",
            StartTime = 1700000000.5, EndTime = 1700000060, ProcessedSizeBytes = 100, ProcessedItemCount = 10, ImportedItemCount = 8, ErrorCount = 2,
            FailureCode = "S3NoSuchKey", FailureMessage = "none",
        };
        Assert.Equal(GoldenImport, Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(record, ExportsJsonContext.Default.ImportRecord)));
        var back = JsonSerializer.Deserialize(GoldenImport, ExportsJsonContext.Default.ImportRecord)!;
        Assert.Equal("01700000000000-a1b2c3d4", back.ImportId);
        Assert.Equal(["pk", "v"], back.CsvHeaderList!);
        Assert.Equal("{\"TableName\":\"Copy\"}", back.TableCreationParameters);
    }

    /// <summary>The example item of AWS's "DynamoDB table export output format" page, written as its Ion export shows it.</summary>
    [Fact]
    public void Ion_WritesTheDeveloperGuideExample()
    {
        var item = new Dictionary<string, AttrValue>(StringComparer.Ordinal)
        {
            ["Authors"] = AttrValue.FromSS(["Author1", "Author2"]),
            ["Dimensions"] = AttrValue.FromS("8.5 x 11.0 x 1.5"),
            ["ISBN"] = AttrValue.FromS("333-3333333333"),
            ["Id"] = AttrValue.FromCanonicalN("103"),
            ["InPublication"] = AttrValue.False,
            ["PageCount"] = AttrValue.FromCanonicalN("600"),
            ["Price"] = AttrValue.FromCanonicalN("2000"),
            ["ProductCategory"] = AttrValue.FromS("Book"),
            ["Title"] = AttrValue.FromS("Book 103 Title"),
        };
        var text = new StringBuilder();
        IonText.WriteStruct(text, item);
        Assert.Equal("{Authors:$dynamodb_SS::[\"Author1\",\"Author2\"],Dimensions:\"8.5 x 11.0 x 1.5\",ISBN:\"333-3333333333\",Id:103.,InPublication:false,"
            + "PageCount:6d2,Price:2d3,ProductCategory:\"Book\",Title:\"Book 103 Title\"}", text.ToString());
    }

    [Theory]
    [InlineData("0", "0.")]
    [InlineData("-40", "-4d1")]
    [InlineData("1.5", "1.5")]
    [InlineData("-0.015", "-0.015")]
    [InlineData("7", "7.")]
    public void Ion_Decimals(string canonical, string ion)
    {
        var text = new StringBuilder();
        IonText.WriteDecimal(text, canonical);
        Assert.Equal(ion, text.ToString());
    }

    [Fact]
    public void Ion_ReadsWhatItWrites_AsDynamoDbJson()
    {
        var item = new Dictionary<string, AttrValue>(StringComparer.Ordinal)
        {
            ["s"] = AttrValue.FromS("q\"uote\\ \n ü"), ["n"] = AttrValue.FromCanonicalN("-600"), ["b"] = AttrValue.FromB([0, 1, 255]), ["t"] = AttrValue.True,
            ["z"] = AttrValue.Null, ["odd name"] = AttrValue.FromS("x"), ["true"] = AttrValue.FromS("kw"),
            ["l"] = AttrValue.FromL([AttrValue.FromCanonicalN("1.25"), AttrValue.FromM(new Dictionary<string, AttrValue>(StringComparer.Ordinal) { ["k"] = AttrValue.FromS("v") })]),
            ["ns"] = AttrValue.FromNS(["1", "20"]), ["bs"] = AttrValue.FromBS([[1], [2, 3]]),
        };
        var text = new StringBuilder(IonText.VersionMarker + " {Item:");
        IonText.WriteStruct(text, item);
        text.Append("}\n// a comment\n").Append(IonText.VersionMarker).Append(" {Item:{pk:\"second\"}}");
        var reader = new IonText.Reader(new StringReader(text.ToString()));
        var buffer = new ArrayBufferWriter<byte>();
        Assert.True(reader.TryReadRecord(buffer));
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        var back = AttrJson.ReadItem(doc.RootElement.GetProperty("Item"));
        Assert.Equal(item.Count, back.Count);
        foreach (var (name, value) in item) Assert.Equal(value, back[name]);
        buffer.Clear();
        Assert.True(reader.TryReadRecord(buffer));
        Assert.Equal("{\"Item\":{\"pk\":{\"S\":\"second\"}}}", Encoding.UTF8.GetString(buffer.WrittenSpan));
        buffer.Clear();
        Assert.False(reader.TryReadRecord(buffer));
    }

    [Fact]
    public void Ion_RefusesMalformedText()
    {
        var reader = new IonText.Reader(new StringReader("$ion_1_0 {Item:{pk:\"unterminated}}"));
        Assert.Throws<FormatException>(() => reader.TryReadRecord(new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public void Csv_ReadsQuotedFieldsDelimitersAndLineEnds()
    {
        var csv = new CsvReader(new StringReader("a;\"b;c\";\"d \"\"e\"\"\"\r\n;x\nlast"), ';');
        Assert.Equal(["a", "b;c", "d \"e\""], csv.ReadRecord()!);
        Assert.Equal(["", "x"], csv.ReadRecord()!);
        Assert.Equal(["last"], csv.ReadRecord()!);
        Assert.Null(csv.ReadRecord());
    }

    [Fact]
    public void Checksums_AsS3AndAwsWriteThem()
    {
        var part = MD5.HashData("hello"u8);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(part)) + "-1", Checksums.MultipartEtag([part]));
        Assert.Equal("5d41402abc4b2a76b9719d911017c592", Checksums.ManifestChecksum("hello"u8));
    }
}
