using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Exports;

/// <summary>
/// Runs exports and imports as background work of the engine: each is a record persisted before the request is
/// answered, then a task that never holds a lock a write needs. Shutdown cancels the tasks and waits for them; a
/// task stopped that way (or by a kill) is taken up again when the engine next opens: an export starts over from its
/// table's past (the change log still holds it), an import is FAILED and its partly loaded table dropped.
/// </summary>
public sealed class ExportService : IAsyncDisposable
{
    private readonly DynamoEngine _engine;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots;
    private readonly Lock _tasksLock = new();
    private readonly HashSet<Task> _tasks = [];
    private readonly JobStore<ExportRecord> _exports;
    private readonly JobStore<ImportRecord> _imports;

    internal ExportService(DynamoEngine engine, ExportOptions options)
    {
        _engine = engine;
        Options = options;
        _slots = new SemaphoreSlim(options.Concurrency);
        var engineOptions = engine.Options;
        var dataDir = engineOptions.InMemory ? null : Path.GetFullPath(engineOptions.DataDirectory);
        var root = options.Root is { Length: > 0 } r ? Path.GetFullPath(r)
            : dataDir != null ? Path.Combine(dataDir, "s3")
            : Path.Combine(Path.GetTempPath(), "serverless-dynamodb", "s3");
        Objects = options.Root is not { Length: > 0 } && engineOptions.Blob.ConnectionString is { Length: > 0 } connection
            ? new BlobObjectStore(connection)
            : new FolderObjectStore(root);
        LogRoot = Path.Combine(dataDir ?? Path.Combine(Path.GetTempPath(), "serverless-dynamodb"), "cloudwatch");
        _exports = new JobStore<ExportRecord>(dataDir == null ? null : Path.Combine(dataDir, "exports"), ExportsJsonContext.Default.ExportRecord, e => e.ExportId);
        _imports = new JobStore<ImportRecord>(dataDir == null ? null : Path.Combine(dataDir, "imports"), ExportsJsonContext.Default.ImportRecord, i => i.ImportId);
    }

    public ExportOptions Options { get; }

    /// <summary>Receives progress and outcome lines (the hosts send them to their log).</summary>
    public Action<string>? Log { get; set; }

    internal IObjectStore Objects { get; }

    /// <summary>Folder of the CloudWatch-like logs: <c>&lt;LogRoot&gt;/aws-dynamodb/imports/&lt;import-id&gt;/error.log</c>.</summary>
    public string LogRoot { get; }

    /// <summary>Where an S3 object stands (a path or a URL), for docs and tests.</summary>
    public string Describe(string bucket, string key) => Objects.Describe(bucket, key);

    /// <summary>Loads the records and takes up the work a stop or a crash interrupted.</summary>
    internal async Task StartAsync()
    {
        _exports.Load();
        _imports.Load();
        foreach (var export in _exports.All())
        {
            if (export.Status != "IN_PROGRESS") continue;
            Log?.Invoke($"Export {export.ExportArn} was interrupted: starting it again.");
            Run(ct => RunExportAsync(export, ct));
        }

        foreach (var import in _imports.All())
        {
            if (import.Status is not ("IN_PROGRESS" or "CANCELLING")) continue;
            await FailInterruptedImportAsync(import).ConfigureAwait(false);
        }
    }

    internal ExportRecord? FindExport(string arn) => _exports.Find(IdOf(arn));

    internal List<ExportRecord> Exports() => _exports.All();

    internal ImportRecord? FindImport(string arn) => _imports.Find(IdOf(arn));

    internal List<ImportRecord> Imports() => _imports.All();

    internal void StartExport(ExportRecord record)
    {
        var target = Objects.Describe(record.S3Bucket, record.BaseKey);
        _exports.Save(record);
        Log?.Invoke($"Export {record.ExportArn} started ({record.ExportType}, {record.ExportFormat}) to {target}.");
        Run(ct => RunExportAsync(record, ct));
    }

    internal void StartImport(ImportRecord record, TableState table)
    {
        var source = Objects.Describe(record.S3Bucket, record.S3KeyPrefix ?? "");
        _imports.Save(record);
        Log?.Invoke($"Import {record.ImportArn} started ({record.InputFormat}, {record.InputCompressionType}) from {source}.");
        Run(ct => new ImportRunner(this, _engine, record, table).RunAsync(ct));
    }

    internal void SaveImport(ImportRecord record) => _imports.Save(record);

    internal void UpdateImportProgress(ImportRecord record) => _imports.Save(record);

    /// <summary>Runs one job when a slot is free, tracked so that shutdown waits for it.</summary>
    private void Run(Func<CancellationToken, Task> job)
    {
        var token = _stop.Token;
        var task = Task.Run(async () =>
        {
            await _slots.WaitAsync(token).ConfigureAwait(false);
            try
            {
                await job(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log?.Invoke("An export or import job stopped on an unexpected error: " + e);
            }
            finally
            {
                _slots.Release();
            }
        }, CancellationToken.None);
        lock (_tasksLock) _tasks.Add(task);
        task.ContinueWith(t =>
        {
            lock (_tasksLock) _tasks.Remove(t);
        }, TaskScheduler.Default);
    }

    /// <summary>Completes when no job is running (tests and benchmarks).</summary>
    public async Task WhenIdleAsync()
    {
        while (true)
        {
            Task[] running;
            lock (_tasksLock) running = [.. _tasks];
            if (running.Length == 0) return;
            await Task.WhenAll(running).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    private async Task RunExportAsync(ExportRecord record, CancellationToken cancellationToken)
    {
        var db = _engine.Database;
        try
        {
            var table = db.Tables.FirstOrDefault(t => t.Number == record.TableNumber)
                ?? throw new ExportFailure("UNKNOWN", $"The table {record.TableArn} was deleted before its export finished.");
            Objects.EnsureBucket(record.S3Bucket);
            using (Objects.Create(record.S3Bucket, record.BaseKey + "/_started"))
            {
            }

            var reachesBack = db.OldestRestorableMicros();
            var needed = (long)Math.Floor((record.ExportTime ?? record.ExportFromTime ?? 0) * 1_000_000);
            if (reachesBack is { } oldest && oldest > needed && db.Log!.Segments.Count > 1)
                throw new ExportFailure("UNKNOWN", "The change log no longer reaches back to the export time.");
            if (record.ExportType == "FULL_EXPORT")
            {
                // A restarted export starts over: drop what an interrupted run wrote.
                foreach (var old in Objects.List(record.S3Bucket, record.BaseKey + "/data/")) Objects.Delete(record.S3Bucket, old.Key);
            }

            using var files = new DataFileWriter(Objects, record.S3Bucket, record.DataKey, record.ExportFormat == "ION", Options.DataFileBytes);
            var formatter = new ExportLineFormatter(record.ExportFormat == "ION");
            long items = 0, bytes = 0;
            var lastReport = Environment.TickCount64;

            void Progress()
            {
                if (Environment.TickCount64 - lastReport < 2000) return;
                lastReport = Environment.TickCount64;
                record.ItemCount = items;
                record.BilledSizeBytes = bytes;
                _exports.Save(record);
                Log?.Invoke($"Export {record.ExportId}: {items} items, {bytes} bytes so far.");
            }

            if (record.ExportType == "FULL_EXPORT")
            {
                var at = (long)Math.Floor(record.ExportTime!.Value * 1_000_000);
                await db.StreamTableAtAsync(table, at, (key, stored) =>
                {
                    files.WriteLine(formatter.FullExportLine(stored));
                    items++;
                    bytes += StoredValue.ItemSize(stored);
                    if ((items & 0x3FFF) == 0) Progress();
                }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var changes = new Dictionary<byte[], Change>(ByteArrayComparer.Instance);
                var from = (long)Math.Floor(record.ExportFromTime!.Value * 1_000_000);
                var to = (long)Math.Floor(record.ExportToTime!.Value * 1_000_000);
                await db.ReadChangesAsync(table.Number, from, to, (in ChangeRecord r) =>
                {
                    var key = r.Key.ToArray();
                    if (!changes.TryGetValue(key, out var c))
                    {
                        c = new Change { Old = r.HasOldImage ? r.OldImage.ToArray() : null };
                        changes[key] = c;
                    }

                    c.New = r.HasNewImage ? r.NewImage.ToArray() : null;
                    c.WriteMicros = r.TimestampMicros;
                    bytes += r.Key.Length + (r.HasNewImage ? r.NewImage.Length : 0) + (r.HasOldImage ? r.OldImage.Length : 0);
                }, cancellationToken).ConfigureAwait(false);
                var definition = table.Definition;
                var withOld = record.ExportViewType != "NEW_IMAGE";
                foreach (var (key, change) in changes)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (change.Old == null && change.New == null) continue; // created and deleted within the window
                    KeyCodec.DecodeKey(key, out _, out var hash, out var range);
                    var keys = new Dictionary<string, AttrValue>(StringComparer.Ordinal) { [definition.HashKey.Name] = hash };
                    if (definition.RangeKey != null && range != null) keys[definition.RangeKey.Name] = range;
                    files.WriteLine(formatter.IncrementalLine(keys, change.WriteMicros, change.New, withOld ? change.Old : null));
                    items++;
                }
            }

            files.Finish();
            WriteManifests(record, files.Files, items, bytes);
            record.ItemCount = items;
            record.BilledSizeBytes = bytes;
            record.Status = "COMPLETED";
            record.EndTime = _engine.NowSeconds();
            record.ExportManifest = record.BaseKey + "/manifest-summary.json";
            _exports.Save(record);
            Log?.Invoke($"Export {record.ExportArn} COMPLETED: {items} items, {bytes} bytes, {files.Files.Count} data files.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log?.Invoke($"Export {record.ExportArn} stopped by shutdown; it starts again when the engine next opens.");
        }
        catch (Exception e)
        {
            record.Status = "FAILED";
            record.EndTime = _engine.NowSeconds();
            (record.FailureCode, record.FailureMessage) = e is ExportFailure f ? (f.Code, f.Message) : ("UNKNOWN", e.Message);
            _exports.Save(record);
            Log?.Invoke($"Export {record.ExportArn} FAILED: {record.FailureCode}: {record.FailureMessage}");
        }
    }

    private void WriteManifests(ExportRecord record, IReadOnlyList<DataFileEntry> files, long items, long bytes)
    {
        var lines = new StringBuilder();
        foreach (var f in files)
        {
            lines.Append("{\"itemCount\":").Append(f.ItemCount.ToString(CultureInfo.InvariantCulture))
                .Append(",\"md5Checksum\":").Append(JsonSerializer.Serialize(f.Md5Checksum, ExportsJsonContext.Default.String))
                .Append(",\"etag\":").Append(JsonSerializer.Serialize(f.Etag, ExportsJsonContext.Default.String))
                .Append(",\"dataFileS3Key\":").Append(JsonSerializer.Serialize(f.DataFileS3Key, ExportsJsonContext.Default.String))
                .Append("}\n");
        }

        var filesKey = record.BaseKey + "/manifest-files.json";
        Put(record.S3Bucket, filesKey, Encoding.UTF8.GetBytes(lines.ToString()));

        var buffer = new PooledBufferWriter(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            var incremental = record.ExportType == "INCREMENTAL_EXPORT";
            w.WriteStartObject();
            w.WriteString("version", incremental ? "2023-08-01" : "2020-06-30");
            w.WriteString("exportArn", record.ExportArn);
            w.WriteString("startTime", Iso(record.StartTime));
            w.WriteString("endTime", Iso(_engine.NowSeconds()));
            w.WriteString("tableArn", record.TableArn);
            w.WriteString("tableId", record.TableId);
            if (incremental)
            {
                w.WriteString("exportFromTime", Iso(record.ExportFromTime!.Value));
                w.WriteString("exportToTime", Iso(record.ExportToTime!.Value));
            }
            else w.WriteString("exportTime", Iso(record.ExportTime!.Value));

            w.WriteString("s3Bucket", record.S3Bucket);
            if (record.S3Prefix != null) w.WriteString("s3Prefix", record.S3Prefix);
            else w.WriteNull("s3Prefix");
            w.WriteString("s3SseAlgorithm", record.S3SseAlgorithm);
            if (record.S3SseKmsKeyId != null) w.WriteString("s3SseKmsKeyId", record.S3SseKmsKeyId);
            else w.WriteNull("s3SseKmsKeyId");
            w.WriteString("manifestFilesS3Key", filesKey);
            w.WriteNumber("billedSizeBytes", bytes);
            w.WriteNumber("itemCount", items);
            w.WriteString("outputFormat", record.ExportFormat);
            if (incremental)
            {
                w.WriteString("outputView", record.ExportViewType);
                w.WriteString("exportType", record.ExportType);
            }

            w.WriteEndObject();
        }

        Put(record.S3Bucket, record.BaseKey + "/manifest-summary.json", buffer.WrittenSpan.ToArray());
        buffer.Dispose();
    }

    /// <summary>Writes an object and its <c>.checksum</c> companion (hex MD5).</summary>
    private void Put(string bucket, string key, byte[] bytes)
    {
        using (var s = Objects.Create(bucket, key)) s.Write(bytes);
        using (var s = Objects.Create(bucket, Path.ChangeExtension(key, ".checksum"))) s.Write(Encoding.ASCII.GetBytes(Checksums.ManifestChecksum(bytes)));
    }

    private async Task FailInterruptedImportAsync(ImportRecord import)
    {
        import.Status = "FAILED";
        import.FailureCode = "InternalFailure";
        import.FailureMessage = "The import was interrupted by a restart of the server; its partly loaded table was deleted.";
        import.EndTime = _engine.NowSeconds();
        _imports.Save(import);
        if (_engine.Database.FindTable(import.TableName) is { } table && table.Definition.ImportInProgress == import.ImportArn)
            await _engine.Database.DeleteTableAsync(table).ConfigureAwait(false);
        Log?.Invoke($"Import {import.ImportArn} FAILED: {import.FailureMessage}");
    }

    internal static string Iso(double seconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string IdOf(string arn) => arn[(arn.LastIndexOf('/') + 1)..];

    /// <summary>Cancels running exports and imports and waits for them to stop (they are taken up again at the next open).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await WhenIdleAsync().ConfigureAwait(false);
    }

    private sealed class Change
    {
        public byte[]? Old { get; init; }

        public byte[]? New { get; set; }

        public long WriteMicros { get; set; }
    }
}

/// <summary>An export or import that cannot go on: FailureCode and FailureMessage as DescribeExport/DescribeImport report them.</summary>
internal sealed class ExportFailure(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
