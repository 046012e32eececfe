using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Exports;

/// <summary>Reads an export's files from the host's S3 folder and checks its layout and checksums by recomputing them.</summary>
internal static class ExportFiles
{
    public static string ObjectPath(HostProcess host, string bucket, string key) => Path.Combine(host.DataDirectory, "s3", bucket, key);

    public static async Task<ExportDescription> WaitAsync(IAmazonDynamoDB client, string arn, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (true)
        {
            var d = (await client.DescribeExportAsync(new DescribeExportRequest { ExportArn = arn })).ExportDescription;
            if (d.ExportStatus != ExportStatus.IN_PROGRESS) return d;
            Assert.True(DateTime.UtcNow < deadline, $"export {arn} still IN_PROGRESS");
            await Task.Delay(100);
        }
    }

    public static async Task<ImportTableDescription> WaitImportAsync(IAmazonDynamoDB client, string arn, TimeSpan? timeout = null, HostProcess? host = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (true)
        {
            var d = (await client.DescribeImportAsync(new DescribeImportRequest { ImportArn = arn })).ImportTableDescription;
            if (d.ImportStatus != ImportStatus.IN_PROGRESS) return d;
            Assert.True(DateTime.UtcNow < deadline, $"import {arn} still IN_PROGRESS\n{host?.Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Checks AWS's layout (<c>_started</c>, both manifests and their <c>.checksum</c> files, data files named in
    /// manifest-files.json) and every checksum, and returns the decompressed lines of every data file.
    /// </summary>
    public static List<string> VerifyAndReadLines(HostProcess host, ExportDescription d, string extension)
    {
        var exportId = d.ExportArn[(d.ExportArn.LastIndexOf('/') + 1)..];
        var baseKey = (d.S3Prefix is { Length: > 0 } p ? p.TrimEnd('/') + "/" : "") + "AWSDynamoDB/" + exportId;
        Assert.Equal(baseKey + "/manifest-summary.json", d.ExportManifest);
        Assert.True(File.Exists(ObjectPath(host, d.S3Bucket, baseKey + "/_started")));

        var summaryBytes = File.ReadAllBytes(ObjectPath(host, d.S3Bucket, baseKey + "/manifest-summary.json"));
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(summaryBytes)), File.ReadAllText(ObjectPath(host, d.S3Bucket, baseKey + "/manifest-summary.checksum")));
        using var summary = JsonDocument.Parse(summaryBytes);
        var s = summary.RootElement;
        Assert.Equal(d.ExportArn, s.GetProperty("exportArn").GetString());
        Assert.Equal(d.TableArn, s.GetProperty("tableArn").GetString());
        Assert.Equal(d.TableId, s.GetProperty("tableId").GetString());
        Assert.Equal(d.S3Bucket, s.GetProperty("s3Bucket").GetString());
        Assert.Equal("AES256", s.GetProperty("s3SseAlgorithm").GetString());
        Assert.Equal(d.ItemCount, s.GetProperty("itemCount").GetInt64());
        Assert.Equal(d.BilledSizeBytes, s.GetProperty("billedSizeBytes").GetInt64());
        Assert.Equal(d.ExportFormat.Value, s.GetProperty("outputFormat").GetString());
        Assert.True(DateTime.TryParse(s.GetProperty("startTime").GetString(), out _));
        Assert.True(DateTime.TryParse(s.GetProperty("endTime").GetString(), out _));
        if (d.ExportType == ExportType.INCREMENTAL_EXPORT)
        {
            Assert.Equal("2023-08-01", s.GetProperty("version").GetString());
            Assert.Equal("INCREMENTAL_EXPORT", s.GetProperty("exportType").GetString());
            Assert.Equal(d.IncrementalExportSpecification.ExportViewType.Value, s.GetProperty("outputView").GetString());
        }
        else
        {
            Assert.Equal("2020-06-30", s.GetProperty("version").GetString());
            Assert.Equal(d.ExportTime!.Value.ToUniversalTime(), DateTime.Parse(s.GetProperty("exportTime").GetString()!, null, System.Globalization.DateTimeStyles.AdjustToUniversal), TimeSpan.FromMilliseconds(1));
        }

        var filesKey = s.GetProperty("manifestFilesS3Key").GetString()!;
        Assert.Equal(baseKey + "/manifest-files.json", filesKey);
        var filesBytes = File.ReadAllBytes(ObjectPath(host, d.S3Bucket, filesKey));
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(filesBytes)), File.ReadAllText(ObjectPath(host, d.S3Bucket, baseKey + "/manifest-files.checksum")));

        var lines = new List<string>();
        long items = 0;
        foreach (var line in Encoding.UTF8.GetString(filesBytes).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var entry = JsonDocument.Parse(line);
            var e = entry.RootElement;
            var key = e.GetProperty("dataFileS3Key").GetString()!;
            Assert.EndsWith(extension, key);
            Assert.StartsWith(d.ExportType == ExportType.INCREMENTAL_EXPORT ? key[..key.IndexOf("AWSDynamoDB/", StringComparison.Ordinal)] + "AWSDynamoDB/data/" : baseKey + "/data/", key);
            var bytes = File.ReadAllBytes(ObjectPath(host, d.S3Bucket, key));
            var md5 = MD5.HashData(bytes);
            Assert.Equal(Convert.ToBase64String(md5), e.GetProperty("md5Checksum").GetString());
            Assert.Equal(Convert.ToHexStringLower(MD5.HashData(md5)) + "-1", e.GetProperty("etag").GetString());
            using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var reader = new StreamReader(gz);
            var fileLines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(e.GetProperty("itemCount").GetInt64(), fileLines.Length);
            items += fileLines.Length;
            lines.AddRange(fileLines);
        }

        Assert.Equal(d.ItemCount, items);
        return lines;
    }

    /// <summary>A DynamoDB JSON attribute map (<c>{"a":{"S":"x"}}</c>) as text sorted by name, for comparing items.</summary>
    public static string Canonical(JsonElement map)
    {
        var parts = map.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => p.Name + "=" + CanonicalValue(p.Value));
        return string.Join(";", parts);
    }

    private static string CanonicalValue(JsonElement v)
    {
        var p = v.EnumerateObject().Single();
        return p.Name switch
        {
            "M" => "M{" + Canonical(p.Value) + "}",
            "L" => "L[" + string.Join(",", p.Value.EnumerateArray().Select(CanonicalValue)) + "]",
            "SS" or "NS" or "BS" => p.Name + "[" + string.Join(",", p.Value.EnumerateArray().Select(x => x.GetString()).Order(StringComparer.Ordinal)) + "]",
            "S" or "N" or "B" => p.Name + ":" + JsonSerializer.Serialize(p.Value.GetString()),
            _ => p.Name + ":" + p.Value.GetRawText(),
        };
    }

    /// <summary>An SDK item in the same canonical text.</summary>
    public static string Canonical(Dictionary<string, AttributeValue> item) => string.Join(";", item.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + CanonicalValue(p.Value)));

    private static string CanonicalValue(AttributeValue v)
    {
        if (v.S != null) return "S:" + JsonSerializer.Serialize(v.S);
        if (v.N != null) return "N:" + JsonSerializer.Serialize(v.N);
        if (v.B != null) return "B:" + JsonSerializer.Serialize(Convert.ToBase64String(v.B.ToArray()));
        if (v.BOOL != null) return "BOOL:" + (v.BOOL.Value ? "true" : "false");
        if (v.NULL == true) return "NULL:true";
        if (v.M != null) return "M{" + Canonical(v.M) + "}";
        if (v.L != null) return "L[" + string.Join(",", v.L.Select(CanonicalValue)) + "]";
        if (v.SS is { Count: > 0 }) return "SS[" + string.Join(",", v.SS.Order(StringComparer.Ordinal)) + "]";
        if (v.NS is { Count: > 0 }) return "NS[" + string.Join(",", v.NS.Order(StringComparer.Ordinal)) + "]";
        if (v.BS is { Count: > 0 }) return "BS[" + string.Join(",", v.BS.Select(b => Convert.ToBase64String(b.ToArray())).Order(StringComparer.Ordinal)) + "]";
        return "?";
    }
}
