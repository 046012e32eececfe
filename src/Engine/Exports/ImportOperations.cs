using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Exports;

/// <summary>
/// ImportTable, DescribeImport and ListImports. ImportTable creates the table from TableCreationParameters through
/// CreateTable's own validation, marked as loading (CREATING, closed to reads and writes), records the import and
/// answers IN_PROGRESS; <see cref="ImportRunner"/> loads the items in the background and the table turns ACTIVE.
/// </summary>
internal static class ImportOperations
{
    private static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(8);

    public static async ValueTask ImportTableAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var token = Req.String(req, "ClientToken");
        var source = Req.Object(req, "S3BucketSource");
        var format = Req.String(req, "InputFormat");
        var formatOptions = Req.Object(req, "InputFormatOptions");
        var compression = Req.String(req, "InputCompressionType");
        var parameters = Req.Object(req, "TableCreationParameters");
        string? bucket = null, keyPrefix = null, owner = null, delimiter = null;
        List<string>? header = null;
        if (source is { } s)
        {
            bucket = Req.String(s, "S3Bucket");
            keyPrefix = Req.String(s, "S3KeyPrefix");
            owner = Req.String(s, "S3BucketOwner");
        }

        if (formatOptions is { } o && Req.Object(o, "Csv") is { } csv)
        {
            delimiter = Req.String(csv, "Delimiter");
            header = Req.StringList(csv, "HeaderList");
        }

        var errors = new ConstraintErrors();
        errors.NotNull("s3BucketSource", source);
        if (source != null) errors.NotNull("s3BucketSource.s3Bucket", bucket);
        if (bucket != null && !ExportOperations.IsBucketName(bucket))
            errors.Add("s3BucketSource.s3Bucket", bucket, "Member must satisfy regular expression pattern: ^[a-z0-9A-Z]+[\\.\\-\\w]*[a-z0-9A-Z]+$");
        if (keyPrefix is { Length: > 1024 }) errors.Add("s3BucketSource.s3KeyPrefix", keyPrefix, "Member must have length less than or equal to 1024");
        errors.NotNull("inputFormat", format);
        errors.Enum("inputFormat", format, "DYNAMODB_JSON, ION, CSV", "DYNAMODB_JSON", "ION", "CSV");
        errors.Enum("inputCompressionType", compression, "GZIP, ZSTD, NONE", "GZIP", "ZSTD", "NONE");
        errors.NotNull("tableCreationParameters", parameters);
        if (delimiter != null && !(delimiter.Length == 1 && delimiter[0] is ',' or '\t' or ':' or ';' or '|' or ' '))
            errors.Add("inputFormatOptions.csv.delimiter", delimiter, "Member must satisfy regular expression pattern: [,;:|\\t ]");
        if (header is { Count: 0 or > 255 }) errors.Add("inputFormatOptions.csv.headerList", "[]", "Member must have length greater than or equal to 1");
        errors.ThrowIfAny();
        if (formatOptions != null && format != "CSV")
            throw DynamoErrors.Validation("One or more parameter values were invalid: InputFormatOptions can only be specified for the CSV InputFormat");

        var engine = ctx.Engine;
        var service = engine.Exports;
        var now = engine.NowSeconds();
        var tableName = Req.String(parameters!.Value, "TableName");
        var parametersText = parameters.Value.GetRawText();
        if (token != null)
        {
            foreach (var existing in service.Imports())
            {
                if (existing.ClientToken != token || now - existing.StartTime > IdempotencyWindow.TotalSeconds) continue;
                if (existing.S3Bucket != bucket || existing.S3KeyPrefix != keyPrefix || existing.InputFormat != format
                    || existing.InputCompressionType != (compression ?? "NONE") || existing.TableName != tableName)
                    throw DynamoErrors.ImportConflict("There is already an import with the same client token but different parameters within the idempotency window");
                WriteDescriptionResponse(w, existing);
                return;
            }
        }

        if (tableName != null && engine.Database.FindTable(tableName) != null)
            throw DynamoErrors.ResourceInUse($"Table already exists: {tableName}");

        // The table: CreateTable's request and validation, marked as loading before it is committed.
        var stamp = ((long)(now * 1000)).ToString("D14", CultureInfo.InvariantCulture);
        var importArn = "";
        var createRequest = new ArrayBufferWriter<byte>(parametersText.Length + 16);
        createRequest.Write(System.Text.Encoding.UTF8.GetBytes(parametersText));
        using var doc = JsonDocument.Parse(createRequest.WrittenMemory);
        var sink = new ArrayBufferWriter<byte>(1024);
        using (var discard = new Utf8JsonWriter(sink))
        {
            await CreateTable.ExecuteAsync(ctx, doc.RootElement, discard, d =>
            {
                importArn = $"{d.Arn}/import/{stamp}-{Guid.NewGuid().ToString("N")[..8]}";
                d.ImportInProgress = importArn;
            }).ConfigureAwait(false);
        }

        var table = engine.Database.FindTable(tableName!)!;
        var definition = table.Definition;
        var record = new ImportRecord
        {
            ImportArn = importArn,
            TableArn = definition.Arn, TableId = definition.TableId, TableName = definition.Name,
            S3Bucket = bucket!, S3KeyPrefix = keyPrefix, S3BucketOwner = owner,
            InputFormat = format!, InputCompressionType = compression ?? "NONE",
            CsvDelimiter = delimiter, CsvHeaderList = header,
            TableCreationParameters = parametersText,
            ClientToken = token,
            CloudWatchLogGroupArn = $"arn:aws:logs:{definition.Region}:{definition.AccountId}:log-group:/aws-dynamodb/imports:*",
            StartTime = now,
        };
        service.StartImport(record, table);
        WriteDescriptionResponse(w, record);
    }

    public static ValueTask DescribeImportAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "ImportArn");
        var errors = new ConstraintErrors();
        errors.NotNull("importArn", arn);
        if (arn is { Length: < 37 }) errors.Add("importArn", arn, "Member must have length greater than or equal to 37");
        if (arn is { Length: > 1024 }) errors.Add("importArn", arn, "Member must have length less than or equal to 1024");
        errors.ThrowIfAny();
        var record = ctx.Engine.Exports.FindImport(arn!);
        if (record == null || record.ImportArn != arn) throw DynamoErrors.ImportNotFound($"Import not found: {arn}");
        WriteDescriptionResponse(w, record);
        return ValueTask.CompletedTask;
    }

    public static ValueTask ListImportsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var tableArn = Req.String(req, "TableArn");
        var size = Req.Long(req, "PageSize", "Integer");
        var next = Req.String(req, "NextToken");
        var errors = new ConstraintErrors();
        errors.Range("pageSize", size, 1, 25);
        errors.ThrowIfAny();
        var all = ctx.Engine.Exports.Imports()
            .Where(i => tableArn == null || i.TableArn == tableArn)
            .OrderBy(i => i.StartTime).ThenBy(i => i.ImportArn, StringComparer.Ordinal)
            .ToList();
        var from = 0;
        if (next != null)
        {
            from = all.FindIndex(i => i.ImportArn == next);
            if (from < 0) throw DynamoErrors.Validation("Invalid NextToken");
        }

        var page = all.Skip(from).Take((int)(size ?? 25)).ToList();
        w.WriteStartObject();
        w.WriteStartArray("ImportSummaryList"u8);
        foreach (var i in page)
        {
            w.WriteStartObject();
            w.WriteString("ImportArn"u8, i.ImportArn);
            w.WriteString("ImportStatus"u8, i.Status);
            w.WriteString("TableArn"u8, i.TableArn);
            WriteSource(w, i);
            w.WriteString("CloudWatchLogGroupArn"u8, i.CloudWatchLogGroupArn);
            w.WriteString("InputFormat"u8, i.InputFormat);
            w.WriteNumber("StartTime"u8, i.StartTime);
            if (i.EndTime is { } end) w.WriteNumber("EndTime"u8, end);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (from + page.Count < all.Count) w.WriteString("NextToken"u8, all[from + page.Count].ImportArn);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    private static void WriteSource(Utf8JsonWriter w, ImportRecord i)
    {
        w.WriteStartObject("S3BucketSource"u8);
        w.WriteString("S3Bucket"u8, i.S3Bucket);
        if (i.S3BucketOwner != null) w.WriteString("S3BucketOwner"u8, i.S3BucketOwner);
        if (i.S3KeyPrefix != null) w.WriteString("S3KeyPrefix"u8, i.S3KeyPrefix);
        w.WriteEndObject();
    }

    private static void WriteDescriptionResponse(Utf8JsonWriter w, ImportRecord i)
    {
        w.WriteStartObject();
        w.WriteStartObject("ImportTableDescription"u8);
        w.WriteString("ImportArn"u8, i.ImportArn);
        w.WriteString("ImportStatus"u8, i.Status);
        w.WriteString("TableArn"u8, i.TableArn);
        w.WriteString("TableId"u8, i.TableId);
        if (i.ClientToken != null) w.WriteString("ClientToken"u8, i.ClientToken);
        WriteSource(w, i);
        w.WriteNumber("ErrorCount"u8, i.ErrorCount);
        w.WriteString("CloudWatchLogGroupArn"u8, i.CloudWatchLogGroupArn);
        w.WriteString("InputFormat"u8, i.InputFormat);
        if (i.CsvDelimiter != null || i.CsvHeaderList != null)
        {
            w.WriteStartObject("InputFormatOptions"u8);
            w.WriteStartObject("Csv"u8);
            if (i.CsvDelimiter != null) w.WriteString("Delimiter"u8, i.CsvDelimiter);
            if (i.CsvHeaderList != null)
            {
                w.WriteStartArray("HeaderList"u8);
                foreach (var h in i.CsvHeaderList) w.WriteStringValue(h);
                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteString("InputCompressionType"u8, i.InputCompressionType);
        w.WritePropertyName("TableCreationParameters"u8);
        w.WriteRawValue(i.TableCreationParameters, skipInputValidation: true);
        w.WriteNumber("StartTime"u8, i.StartTime);
        if (i.EndTime is { } end) w.WriteNumber("EndTime"u8, end);
        w.WriteNumber("ProcessedSizeBytes"u8, i.ProcessedSizeBytes);
        w.WriteNumber("ProcessedItemCount"u8, i.ProcessedItemCount);
        w.WriteNumber("ImportedItemCount"u8, i.ImportedItemCount);
        if (i.FailureCode != null) w.WriteString("FailureCode"u8, i.FailureCode);
        if (i.FailureMessage != null) w.WriteString("FailureMessage"u8, i.FailureMessage);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
