using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Exports;

/// <summary>
/// One export as it is persisted (<c>&lt;data-dir&gt;/exports/&lt;export-id&gt;.json</c>, format 1, guarded by a golden
/// test): what was asked, and how far it got. Times are seconds since the Unix epoch.
/// </summary>
public sealed class ExportRecord
{
    public int Format { get; set; } = 1;

    public required string ExportArn { get; init; }

    /// <summary>IN_PROGRESS, COMPLETED or FAILED.</summary>
    public string Status { get; set; } = "IN_PROGRESS";

    public required string TableArn { get; init; }

    public required string TableId { get; init; }

    public required uint TableNumber { get; init; }

    /// <summary>FULL_EXPORT or INCREMENTAL_EXPORT.</summary>
    public required string ExportType { get; init; }

    /// <summary>DYNAMODB_JSON or ION.</summary>
    public required string ExportFormat { get; init; }

    /// <summary>The moment a full export reads the table at (µs precision kept as seconds with a fraction).</summary>
    public double? ExportTime { get; init; }

    public double? ExportFromTime { get; init; }

    public double? ExportToTime { get; init; }

    /// <summary>NEW_IMAGE or NEW_AND_OLD_IMAGES (incremental exports).</summary>
    public string? ExportViewType { get; init; }

    public required double StartTime { get; init; }

    public double? EndTime { get; set; }

    public required string S3Bucket { get; init; }

    public string? S3Prefix { get; init; }

    public string? S3BucketOwner { get; init; }

    public string S3SseAlgorithm { get; init; } = "AES256";

    public string? S3SseKmsKeyId { get; init; }

    public string? ClientToken { get; init; }

    public long ItemCount { get; set; }

    public long BilledSizeBytes { get; set; }

    /// <summary>Key of manifest-summary.json, once written.</summary>
    public string? ExportManifest { get; set; }

    public string? FailureCode { get; set; }

    public string? FailureMessage { get; set; }

    /// <summary>The last part of the ARN: <c>01234567890123-a1b2c3d4</c>.</summary>
    [JsonIgnore]
    public string ExportId => ExportArn[(ExportArn.LastIndexOf('/') + 1)..];

    /// <summary><c>&lt;prefix&gt;/AWSDynamoDB/&lt;export-id&gt;</c> (no prefix: <c>AWSDynamoDB/&lt;export-id&gt;</c>).</summary>
    [JsonIgnore]
    public string BaseKey => Join(S3Prefix, "AWSDynamoDB/" + ExportId);

    /// <summary>Where data files go: the export's own folder for full exports, the shared <c>AWSDynamoDB/data</c> for incremental ones.</summary>
    [JsonIgnore]
    public string DataKey => ExportType == "INCREMENTAL_EXPORT" ? Join(S3Prefix, "AWSDynamoDB/data") : BaseKey + "/data";

    internal static string Join(string? prefix, string rest) =>
        string.IsNullOrEmpty(prefix) ? rest : prefix.TrimEnd('/') + "/" + rest;
}

/// <summary>
/// One import as it is persisted (<c>&lt;data-dir&gt;/imports/&lt;import-id&gt;.json</c>, format 1, guarded by a golden
/// test). Times are seconds since the Unix epoch.
/// </summary>
public sealed class ImportRecord
{
    public int Format { get; set; } = 1;

    public required string ImportArn { get; init; }

    /// <summary>IN_PROGRESS, COMPLETED, CANCELLING, CANCELLED or FAILED.</summary>
    public string Status { get; set; } = "IN_PROGRESS";

    public required string TableArn { get; init; }

    public required string TableId { get; init; }

    public required string TableName { get; init; }

    public required string S3Bucket { get; init; }

    public string? S3KeyPrefix { get; init; }

    public string? S3BucketOwner { get; init; }

    /// <summary>DYNAMODB_JSON, ION or CSV.</summary>
    public required string InputFormat { get; init; }

    /// <summary>GZIP, ZSTD or NONE.</summary>
    public string InputCompressionType { get; init; } = "NONE";

    public string? CsvDelimiter { get; init; }

    public List<string>? CsvHeaderList { get; init; }

    /// <summary>The request's TableCreationParameters, as sent (echoed by DescribeImport).</summary>
    public required string TableCreationParameters { get; init; }

    public string? ClientToken { get; init; }

    public required string CloudWatchLogGroupArn { get; init; }

    public required double StartTime { get; init; }

    public double? EndTime { get; set; }

    public long ProcessedSizeBytes { get; set; }

    public long ProcessedItemCount { get; set; }

    public long ImportedItemCount { get; set; }

    public long ErrorCount { get; set; }

    public string? FailureCode { get; set; }

    public string? FailureMessage { get; set; }

    [JsonIgnore]
    public string ImportId => ImportArn[(ImportArn.LastIndexOf('/') + 1)..];
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false)]
[JsonSerializable(typeof(ExportRecord))]
[JsonSerializable(typeof(ImportRecord))]
[JsonSerializable(typeof(string))]
internal sealed partial class ExportsJsonContext : JsonSerializerContext;

/// <summary>
/// Export and import records, each a JSON file written atomically (temporary file, flush to disk, rename) so a kill
/// at any moment leaves the previous or the next version; null directory keeps them in memory (memory-only mode).
/// With a cipher, each file is sealed with the store's data key (<see cref="SealedFile"/>); a plain file written
/// before records were sealed is read as it is and sealed again at load. With a mirror (the store in blob storage),
/// every save is uploaded too, so a fresh instance on another disk still lists and describes them.
/// </summary>
internal sealed class JobStore<T>(string? directory, JsonTypeInfo<T> type, Func<T, string> id, StoreCipher? cipher = null, SealedKind kind = default,
    Persistence.BlobFolderMirror? mirror = null) where T : class
{
    private static readonly byte[] SealMagic = "DDBSEAL1"u8.ToArray();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, T> _items = new(StringComparer.Ordinal);

    public string? Directory => directory;

    public void Load()
    {
        if (directory == null) return;
        System.IO.Directory.CreateDirectory(directory);
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "*.json"))
        {
            try
            {
                var bytes = File.ReadAllBytes(path);
                var sealedFile = bytes.AsSpan().StartsWith(SealMagic);
                if (sealedFile && cipher != null) bytes = SealedFile.Open(bytes, cipher, kind, path);
                var item = JsonSerializer.Deserialize(bytes, type);
                if (item == null) continue;
                lock (_lock) _items[id(item)] = item;
                if (!sealedFile && cipher != null) Save(item); // written before records were sealed: seal it now
            }
            catch (JsonException)
            {
                // A damaged record is skipped (it stays for inspection); records are renamed into place whole.
            }
        }
    }

    public void Save(T item)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(item, type);
        var key = id(item);
        if (directory != null)
        {
            var path = Path.Combine(directory, key + ".json");
            var stored = cipher != null ? SealedFile.Seal(cipher, kind, bytes) : bytes;
            var temp = path + ".tmp";
            using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                f.Write(stored);
                f.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            mirror?.Upload(path, stored);
        }

        lock (_lock) _items[key] = JsonSerializer.Deserialize(bytes, type)!;
    }
    public T? Find(string key)
    {
        lock (_lock) return _items.TryGetValue(key, out var item) ? JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(item, type), type) : null;
    }

    public List<T> All()
    {
        lock (_lock) return [.. _items.Values.Select(i => JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(i, type), type)!)];
    }
}
