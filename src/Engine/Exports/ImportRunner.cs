using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Exports;

/// <summary>
/// Loads the objects under an import's S3 prefix into its new table: each object decompressed (GZIP, ZSTD or none)
/// and read as it streams (DynamoDB JSON lines, Ion text, or CSV), each item validated as PutItem would and written
/// through the ordinary write path, so indexes, streams and the change log see it like any put. An item that fails
/// is counted in ErrorCount and described in the import's error log; the rest go on.
/// </summary>
internal sealed class ImportRunner(ExportService service, DynamoEngine engine, ImportRecord record, TableState table)
{
    private const int MaxPendingWrites = 256;
    private readonly List<Task> _pending = new(MaxPendingWrites);
    private StreamWriter? _errorLog;
    private string? _currentKey;
    private long _itemIndex;
    private long _imported;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var prefix = record.S3KeyPrefix ?? "";
            if (!service.Objects.BucketExists(record.S3Bucket))
                throw new ExportFailure("S3NoSuchBucket", $"The specified bucket does not exist (Service: Amazon S3; Status Code: 404; Error Code: NoSuchBucket): {record.S3Bucket}");
            var objects = service.Objects.List(record.S3Bucket, prefix).ToList();
            if (objects.Count == 0)
                throw new ExportFailure("S3NoSuchKey", $"No objects were found under the prefix '{prefix}' of bucket {record.S3Bucket}.");
            var lastSave = Environment.TickCount64;
            foreach (var obj in objects)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _currentKey = obj.Key;
                _itemIndex = 0;
                using (var raw = service.Objects.OpenRead(record.S3Bucket, obj.Key))
                using (var input = Decompress(raw))
                {
                    switch (record.InputFormat)
                    {
                        case "DYNAMODB_JSON": await ReadJsonLinesAsync(input, cancellationToken).ConfigureAwait(false); break;
                        case "ION": await ReadIonAsync(input, cancellationToken).ConfigureAwait(false); break;
                        default: await ReadCsvAsync(input, cancellationToken).ConfigureAwait(false); break;
                    }
                }

                await DrainAsync().ConfigureAwait(false);
                record.ProcessedSizeBytes += obj.Size;
                if (Environment.TickCount64 - lastSave > 2000)
                {
                    lastSave = Environment.TickCount64;
                    service.UpdateImportProgress(record);
                    service.Log?.Invoke($"Import {record.ImportId}: {record.ProcessedItemCount} items processed, {record.ErrorCount} errors so far.");
                }
            }

            await DrainAsync().ConfigureAwait(false);
            await engine.Database.UpdateTableAsync(table, d => d.ImportInProgress = null).ConfigureAwait(false);
            record.Status = "COMPLETED";
            record.EndTime = engine.NowSeconds();
            service.SaveImport(record);
            service.Log?.Invoke($"Import {record.ImportArn} COMPLETED: {record.ImportedItemCount} imported of {record.ProcessedItemCount} processed, {record.ErrorCount} errors.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown: the record stays IN_PROGRESS and the next open fails it cleanly (dropping the partial table).
            service.UpdateImportProgress(record);
        }
        catch (Exception e)
        {
            try
            {
                await DrainAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The failure below is what is reported.
            }

            // The partly loaded table goes first, so a client that sees FAILED no longer finds it (a crash in between
            // leaves the import IN_PROGRESS, which the next start fails the same way).
            if (engine.Database.FindTable(record.TableName) is { } t && t.Definition.ImportInProgress == record.ImportArn)
                await engine.Database.DeleteTableAsync(t).ConfigureAwait(false);
            record.Status = "FAILED";
            record.EndTime = engine.NowSeconds();
            (record.FailureCode, record.FailureMessage) = e is ExportFailure f ? (f.Code, f.Message) : ("InternalFailure", e.Message);
            service.SaveImport(record);
            service.Log?.Invoke($"Import {record.ImportArn} FAILED: {record.FailureCode}: {record.FailureMessage}");
        }
        finally
        {
            if (_errorLog != null) await _errorLog.DisposeAsync().ConfigureAwait(false);
        }
    }

    private Stream Decompress(Stream raw) => record.InputCompressionType switch
    {
        "GZIP" => new GZipStream(raw, CompressionMode.Decompress),
        "ZSTD" => new ZstdSharp.DecompressionStream(raw),
        _ => raw,
    };

    private async Task ReadJsonLinesAsync(Stream input, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            await ImportJsonRecordAsync(Encoding.UTF8.GetBytes(line)).ConfigureAwait(false);
        }
    }

    private async Task ReadIonAsync(Stream input, CancellationToken cancellationToken)
    {
        using var text = new StreamReader(input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
        var ion = new IonText.Reader(text);
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            buffer.Clear();
            try
            {
                if (!ion.TryReadRecord(buffer)) return;
            }
            catch (FormatException e)
            {
                // Ion has no line structure to resynchronise on: the rest of this object is skipped.
                _itemIndex++;
                record.ProcessedItemCount++;
                await ErrorAsync("Unable to parse the Ion text: " + e.Message).ConfigureAwait(false);
                return;
            }

            await ImportJsonRecordAsync(buffer.WrittenMemory).ConfigureAwait(false);
        }
    }

    private async Task ReadCsvAsync(Stream input, CancellationToken cancellationToken)
    {
        using var text = new StreamReader(input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
        var csv = new CsvReader(text, record.CsvDelimiter is { Length: 1 } d ? d[0] : ',');
        var header = record.CsvHeaderList;
        if (header == null)
        {
            header = csv.ReadRecord();
            if (header == null) return;
        }

        var definition = table.Definition;
        while (csv.ReadRecord() is { } fields)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _itemIndex++;
            record.ProcessedItemCount++;
            if (fields.Count == 1 && fields[0].Length == 0) continue;
            var item = new Dictionary<string, AttrValue>(StringComparer.Ordinal);
            string? error = null;
            for (var i = 0; i < fields.Count && i < header.Count; i++)
            {
                var name = header[i];
                var value = fields[i];
                var key = name == definition.HashKey.Name ? definition.HashKey : name == definition.RangeKey?.Name ? definition.RangeKey : null;
                if (key == null)
                {
                    // CSV carries no types: every non-key value is a string; empty fields are absent attributes.
                    if (value.Length > 0) item[name] = AttrValue.FromS(value);
                    continue;
                }

                error ??= TypedKey(key, value, item);
            }

            if (fields.Count > header.Count) error ??= $"The record has {fields.Count} fields but the header has {header.Count}";
            if (error != null)
            {
                await ErrorAsync(error).ConfigureAwait(false);
                continue;
            }

            await WriteItemAsync(item).ConfigureAwait(false);
        }
    }

    /// <summary>A key value typed by the key schema (S, N, or B as base64); null, or the error text.</summary>
    private static string? TypedKey(KeyAttribute key, string value, Dictionary<string, AttrValue> item)
    {
        switch (key.Type)
        {
            case "N":
                if (DynamoNumber.TryParse(value, out var n) != DynamoNumber.ParseStatus.Ok)
                    return $"The value '{value}' of key attribute {key.Name} is not a number";
                item[key.Name] = AttrValue.FromN(n);
                return null;
            case "B":
                try
                {
                    item[key.Name] = AttrValue.FromB(Convert.FromBase64String(value));
                    return null;
                }
                catch (FormatException)
                {
                    return $"The value of key attribute {key.Name} is not base64";
                }

            default:
                item[key.Name] = AttrValue.FromS(value);
                return null;
        }
    }

    /// <summary>One <c>{"Item":{…}}</c> record (a DynamoDB JSON line, or an Ion value rewritten as one).</summary>
    private async Task ImportJsonRecordAsync(ReadOnlyMemory<byte> json)
    {
        _itemIndex++;
        record.ProcessedItemCount++;
        Dictionary<string, AttrValue>? item;
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = AttrJson.RequiredJsonMaxDepth });
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("Item", out var element) || element.ValueKind != JsonValueKind.Object)
            {
                await ErrorAsync("The record has no Item: each record must be {\"Item\":{...}}").ConfigureAwait(false);
                return;
            }

            if (!AttrJson.TryReadItem(element, out item, out var error))
            {
                await ErrorAsync(error.Message).ConfigureAwait(false);
                return;
            }
        }
        catch (JsonException e)
        {
            await ErrorAsync("Unable to parse the record as JSON: " + e.Message).ConfigureAwait(false);
            return;
        }

        await WriteItemAsync(item).ConfigureAwait(false);
    }

    /// <summary>Validates an item as PutItem does (size, key attributes, index key types) and writes it.</summary>
    private async Task WriteItemAsync(Dictionary<string, AttrValue> item)
    {
        byte[] key;
        byte[] stored;
        try
        {
            var size = ItemSize.Of(item);
            if (size > ItemSize.MaxItemBytes) throw DynamoErrors.Validation("Item size has exceeded the maximum allowed size");
            var definition = table.Definition;
            var (hash, range) = ItemRequest.KeyOfItem(item, definition);
            foreach (var index in table.Indexes)
            {
                if (!index.CheckKeys(item, out var problem)) throw DynamoErrors.InvalidIndexKey(problem);
            }

            key = ItemRequest.EncodeKey(definition.TableNumber, hash, range);
            var buffer = new ArrayBufferWriter<byte>(size + 16);
            StoredValue.WriteHeader(buffer, size);
            ItemCodec.Encode(item, buffer);
            stored = buffer.WrittenSpan.ToArray();
        }
        catch (DynamoException e)
        {
            await ErrorAsync(e.Message).ConfigureAwait(false);
            return;
        }

        _pending.Add(Commit(key, stored));
        if (_pending.Count >= MaxPendingWrites) await DrainAsync().ConfigureAwait(false);
    }

    private async Task Commit(byte[] key, byte[] stored)
    {
        var result = engine.Database.Write(table, key, new StoredPut(stored));
        if (result.Status != StoreStatus.Ok) throw DynamoErrors.From(result.Status, result.Problem);
        await result.Committed.ConfigureAwait(false);
        Interlocked.Increment(ref _imported);
    }

    private async Task DrainAsync()
    {
        try
        {
            if (_pending.Count > 0) await Task.WhenAll(_pending).ConfigureAwait(false);
        }
        finally
        {
            _pending.Clear();
            record.ImportedItemCount = Interlocked.Read(ref _imported);
        }
    }

    /// <summary>
    /// Counts a failed item and appends its line to the error log, shaped as the CloudWatch entries AWS writes to
    /// log group <c>/aws-dynamodb/imports</c>, stream <c>&lt;import-id&gt;/error</c>.
    /// </summary>
    private async Task ErrorAsync(string message)
    {
        record.ErrorCount++;
        if (_errorLog == null)
        {
            var path = Path.Combine(service.LogRoot, "aws-dynamodb", "imports", record.ImportId, "error.log");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            _errorLog = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("timestamp", ExportService.Iso(engine.NowSeconds()));
            w.WriteStartObject("itemS3Pointer");
            w.WriteString("bucket", record.S3Bucket);
            w.WriteString("key", _currentKey);
            w.WriteNumber("itemIndex", _itemIndex - 1);
            w.WriteEndObject();
            w.WriteString("importArn", record.ImportArn);
            w.WriteStartArray("errorMessages");
            w.WriteStringValue(message);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        await _errorLog.WriteLineAsync(Encoding.UTF8.GetString(buffer.WrittenSpan)).ConfigureAwait(false);
        await _errorLog.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Stores a prepared stored value as it is.</summary>
    private sealed class StoredPut(byte[] stored) : IItemMutation
    {
        public MutationKind Apply(ReadOnlySpan<byte> current, bool exists, IBufferWriter<byte> newValue)
        {
            newValue.Write(stored);
            return MutationKind.Put;
        }
    }
}

/// <summary>RFC 4180 CSV: fields separated by one delimiter character, optionally double-quoted with <c>""</c> for a quote, records ending in CRLF or LF.</summary>
internal sealed class CsvReader(TextReader input, char delimiter)
{
    private readonly StringBuilder _field = new();

    /// <summary>The next record's fields, or null at the end.</summary>
    public List<string>? ReadRecord()
    {
        var c = input.Read();
        if (c < 0) return null;
        var fields = new List<string>();
        _field.Clear();
        var quoted = false;
        var startOfField = true;
        while (true)
        {
            if (c < 0)
            {
                fields.Add(_field.ToString());
                return fields;
            }

            var ch = (char)c;
            if (quoted)
            {
                if (ch == '"')
                {
                    if (input.Peek() == '"')
                    {
                        input.Read();
                        _field.Append('"');
                    }
                    else quoted = false;
                }
                else _field.Append(ch);
            }
            else if (ch == '"' && startOfField)
            {
                quoted = true;
                startOfField = false;
            }
            else if (ch == delimiter)
            {
                fields.Add(_field.ToString());
                _field.Clear();
                startOfField = true;
            }
            else if (ch == '\n' || ch == '\r')
            {
                if (ch == '\r' && input.Peek() == '\n') input.Read();
                fields.Add(_field.ToString());
                return fields;
            }
            else
            {
                _field.Append(ch);
                startOfField = false;
            }

            c = input.Read();
        }
    }
}
