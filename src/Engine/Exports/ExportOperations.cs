using System.Globalization;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Exports;

/// <summary>
/// ExportTableToPointInTime, DescribeExport and ListExports. The request is validated and the export recorded, then
/// answered IN_PROGRESS; <see cref="ExportService"/> writes the files in the background.
/// </summary>
internal static class ExportOperations
{
    private static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(8);

    public static ValueTask ExportTableToPointInTimeAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var tableArn = Req.String(req, "TableArn");
        var bucket = Req.String(req, "S3Bucket");
        var prefix = Req.String(req, "S3Prefix");
        var owner = Req.String(req, "S3BucketOwner");
        var sse = Req.String(req, "S3SseAlgorithm");
        var kmsKey = Req.String(req, "S3SseKmsKeyId");
        var format = Req.String(req, "ExportFormat");
        var type = Req.String(req, "ExportType");
        var token = Req.String(req, "ClientToken");
        var exportTime = Req.Double(req, "ExportTime");
        var spec = Req.Object(req, "IncrementalExportSpecification");
        double? from = null, to = null;
        string? view = null;
        if (spec is { } s)
        {
            from = Req.Double(s, "ExportFromTime");
            to = Req.Double(s, "ExportToTime");
            view = Req.String(s, "ExportViewType");
        }

        var errors = new ConstraintErrors();
        errors.NotNull("tableArn", tableArn);
        if (tableArn is { Length: < 1 }) errors.Add("tableArn", tableArn, "Member must have length greater than or equal to 1");
        errors.NotNull("s3Bucket", bucket);
        if (bucket != null && !IsBucketName(bucket)) errors.Add("s3Bucket", bucket, "Member must satisfy regular expression pattern: ^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$");
        if (bucket is { Length: > 255 }) errors.Add("s3Bucket", bucket, "Member must have length less than or equal to 255");
        if (prefix is { Length: > 1024 }) errors.Add("s3Prefix", prefix, "Member must have length less than or equal to 1024");
        errors.Enum("exportFormat", format, "ION, DYNAMODB_JSON", "ION", "DYNAMODB_JSON");
        errors.Enum("exportType", type, "FULL_EXPORT, INCREMENTAL_EXPORT", "FULL_EXPORT", "INCREMENTAL_EXPORT");
        errors.Enum("s3SseAlgorithm", sse, "AES256, KMS", "AES256", "KMS");
        errors.Enum("incrementalExportSpecification.exportViewType", view, "NEW_IMAGE, NEW_AND_OLD_IMAGES", "NEW_IMAGE", "NEW_AND_OLD_IMAGES");
        errors.ThrowIfAny();

        type ??= "FULL_EXPORT";
        var incremental = type == "INCREMENTAL_EXPORT";
        if (incremental && exportTime != null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: ExportTime cannot be specified for INCREMENTAL_EXPORT; use IncrementalExportSpecification");
        if (!incremental && spec != null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: IncrementalExportSpecification can only be specified for INCREMENTAL_EXPORT");
        if (incremental && from == null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: IncrementalExportSpecification.ExportFromTime must be specified for INCREMENTAL_EXPORT");

        var engine = ctx.Engine;
        var db = engine.Database;
        var table = db.Tables.FirstOrDefault(t => t.Definition.Arn == tableArn) ?? throw DynamoErrors.TableNotFoundForRestore($"Table not found: {tableArn}");
        var d = table.Definition;
        if (d.RecoveryPeriodInDays == null || db.Log == null)
            throw DynamoErrors.PointInTimeRecoveryUnavailable($"Point in time recovery is not enabled for table '{d.Name}'");

        var now = engine.NowSeconds();
        var earliest = Math.Max(d.RecoveryEnabledAt ?? now, now - TimeSpan.FromDays(d.RecoveryPeriodInDays.Value).TotalSeconds);
        if (db.OldestRestorableMicros() is { } oldest) earliest = Math.Max(earliest, Math.Floor(oldest / 1_000_000.0));
        earliest = Math.Floor(earliest);
        if (incremental)
        {
            to ??= Math.Floor(now);
            var window = TimeSpan.FromSeconds(to.Value - from!.Value);
            var options = engine.Exports.Options;
            if (from < earliest || to > now || from >= to)
                throw DynamoErrors.InvalidExportTime("Export Time is invalid");
            if (window < options.MinIncrementalWindow || window > options.MaxIncrementalWindow)
                throw DynamoErrors.Validation($"Incremental export period from ExportFromTime to ExportToTime must be between {options.MinIncrementalWindow.TotalMinutes.ToString(CultureInfo.InvariantCulture)} minutes and {options.MaxIncrementalWindow.TotalHours.ToString(CultureInfo.InvariantCulture)} hours");
        }
        else
        {
            exportTime ??= now;
            if (exportTime < earliest || exportTime > now) throw DynamoErrors.InvalidExportTime("Export Time is invalid");
        }

        format ??= "DYNAMODB_JSON";
        if (incremental) view ??= "NEW_AND_OLD_IMAGES";
        var service = engine.Exports;
        if (token != null)
        {
            foreach (var existing in service.Exports())
            {
                if (existing.ClientToken != token || now - existing.StartTime > IdempotencyWindow.TotalSeconds) continue;
                var same = existing.TableArn == d.Arn && existing.S3Bucket == bucket && existing.S3Prefix == prefix && existing.ExportFormat == format
                    && existing.ExportType == type && (incremental ? existing.ExportFromTime == from && existing.ExportToTime == to && existing.ExportViewType == view
                                                                   : req.TryGetProperty("ExportTime", out _) ? existing.ExportTime == exportTime : true);
                if (!same) throw DynamoErrors.ExportConflict("There is already an export with the same client token but different parameters within the idempotency window");
                WriteDescriptionResponse(w, existing);
                return ValueTask.CompletedTask;
            }
        }

        var stamp = DateTimeOffset.FromUnixTimeMilliseconds((long)(now * 1000)).ToUnixTimeMilliseconds().ToString("D14", CultureInfo.InvariantCulture);
        var record = new ExportRecord
        {
            ExportArn = $"{d.Arn}/export/{stamp}-{Guid.NewGuid().ToString("N")[..8]}",
            TableArn = d.Arn, TableId = d.TableId, TableNumber = d.TableNumber,
            ExportType = type, ExportFormat = format,
            ExportTime = incremental ? null : exportTime, ExportFromTime = from, ExportToTime = incremental ? to : null, ExportViewType = view,
            StartTime = now, S3Bucket = bucket!, S3Prefix = prefix, S3BucketOwner = owner, S3SseAlgorithm = sse ?? "AES256", S3SseKmsKeyId = kmsKey,
            ClientToken = token,
        };
        service.StartExport(record);
        WriteDescriptionResponse(w, record);
        return ValueTask.CompletedTask;
    }

    public static ValueTask DescribeExportAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "ExportArn");
        var errors = new ConstraintErrors();
        errors.NotNull("exportArn", arn);
        if (arn is { Length: < 37 }) errors.Add("exportArn", arn, "Member must have length greater than or equal to 37");
        if (arn is { Length: > 1024 }) errors.Add("exportArn", arn, "Member must have length less than or equal to 1024");
        errors.ThrowIfAny();
        var record = ctx.Engine.Exports.FindExport(arn!);
        if (record == null || record.ExportArn != arn) throw DynamoErrors.ExportNotFound($"Export not found: {arn}");
        WriteDescriptionResponse(w, record);
        return ValueTask.CompletedTask;
    }

    public static ValueTask ListExportsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var tableArn = Req.String(req, "TableArn");
        var max = Req.Long(req, "MaxResults", "Integer");
        var next = Req.String(req, "NextToken");
        var errors = new ConstraintErrors();
        errors.Range("maxResults", max, 1, 25);
        errors.ThrowIfAny();
        var all = ctx.Engine.Exports.Exports()
            .Where(e => tableArn == null || e.TableArn == tableArn)
            .OrderBy(e => e.StartTime).ThenBy(e => e.ExportArn, StringComparer.Ordinal)
            .ToList();
        var from = 0;
        if (next != null)
        {
            from = all.FindIndex(e => e.ExportArn == next);
            if (from < 0) throw DynamoErrors.Validation("Invalid NextToken");
        }

        var page = all.Skip(from).Take((int)(max ?? 25)).ToList();
        w.WriteStartObject();
        w.WriteStartArray("ExportSummaries"u8);
        foreach (var e in page)
        {
            w.WriteStartObject();
            w.WriteString("ExportArn"u8, e.ExportArn);
            w.WriteString("ExportStatus"u8, e.Status);
            w.WriteString("ExportType"u8, e.ExportType);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (from + page.Count < all.Count) w.WriteString("NextToken"u8, all[from + page.Count].ExportArn);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    private static void WriteDescriptionResponse(Utf8JsonWriter w, ExportRecord e)
    {
        w.WriteStartObject();
        w.WriteStartObject("ExportDescription"u8);
        w.WriteString("ExportArn"u8, e.ExportArn);
        w.WriteString("ExportStatus"u8, e.Status);
        w.WriteNumber("StartTime"u8, e.StartTime);
        if (e.EndTime is { } end) w.WriteNumber("EndTime"u8, end);
        if (e.ExportManifest != null) w.WriteString("ExportManifest"u8, e.ExportManifest);
        w.WriteString("TableArn"u8, e.TableArn);
        w.WriteString("TableId"u8, e.TableId);
        if (e.ExportTime is { } at) w.WriteNumber("ExportTime"u8, at);
        if (e.ClientToken != null) w.WriteString("ClientToken"u8, e.ClientToken);
        w.WriteString("S3Bucket"u8, e.S3Bucket);
        if (e.S3BucketOwner != null) w.WriteString("S3BucketOwner"u8, e.S3BucketOwner);
        if (e.S3Prefix != null) w.WriteString("S3Prefix"u8, e.S3Prefix);
        w.WriteString("S3SseAlgorithm"u8, e.S3SseAlgorithm);
        if (e.S3SseKmsKeyId != null) w.WriteString("S3SseKmsKeyId"u8, e.S3SseKmsKeyId);
        if (e.FailureCode != null) w.WriteString("FailureCode"u8, e.FailureCode);
        if (e.FailureMessage != null) w.WriteString("FailureMessage"u8, e.FailureMessage);
        w.WriteString("ExportFormat"u8, e.ExportFormat);
        w.WriteNumber("BilledSizeBytes"u8, e.BilledSizeBytes);
        w.WriteNumber("ItemCount"u8, e.ItemCount);
        w.WriteString("ExportType"u8, e.ExportType);
        if (e.ExportType == "INCREMENTAL_EXPORT")
        {
            w.WriteStartObject("IncrementalExportSpecification"u8);
            if (e.ExportFromTime is { } from) w.WriteNumber("ExportFromTime"u8, from);
            if (e.ExportToTime is { } to) w.WriteNumber("ExportToTime"u8, to);
            if (e.ExportViewType != null) w.WriteString("ExportViewType"u8, e.ExportViewType);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>S3's bucket pattern as the API documents it; also keeps bucket names usable as folder names.</summary>
    internal static bool IsBucketName(string name)
    {
        if (name.Length < 2 || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1])) return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')) return false;
        return !name.Contains("..", StringComparison.Ordinal);
    }
}
