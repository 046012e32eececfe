using System.Globalization;
using System.Text.Json;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// Point-in-time recovery (UpdateContinuousBackups, DescribeContinuousBackups, RestoreTableToPointInTime) and
/// on-demand backups (CreateBackup, DescribeBackup, ListBackups, DeleteBackup, RestoreTableFromBackup). Both rebuild
/// a table as it was at a moment from its items and the change log's old images (<c>Database.StreamTableAtAsync</c>).
/// </summary>
internal static class Backups
{
    private const int MaxRecoveryDays = 35;

    public static async ValueTask UpdateContinuousBackupsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = Req.String(req, "TableName");
        var spec = Req.Object(req, "PointInTimeRecoverySpecification");
        var errors = new ConstraintErrors();
        errors.Name("tableName", name);
        errors.NotNull("pointInTimeRecoverySpecification", spec);
        bool? enabled = null;
        long? days = null;
        if (spec is { } s)
        {
            enabled = Req.Bool(s, "PointInTimeRecoveryEnabled");
            days = Req.Long(s, "RecoveryPeriodInDays", "Integer");
            errors.NotNull("pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled", enabled);
            errors.Range("pointInTimeRecoverySpecification.recoveryPeriodInDays", days, 1, MaxRecoveryDays);
        }

        errors.ThrowIfAny();
        var table = ctx.Engine.Database.FindTable(name!) ?? throw DynamoErrors.TableNotFoundForRestore($"Table not found: {name}");
        if (enabled == true && ctx.Engine.Database.Log == null)
            throw DynamoErrors.ContinuousBackupsUnavailable("Point-in-time recovery reads the change log, which an in-memory server does not keep: start it with a data directory.");
        if (enabled == false && days != null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: RecoveryPeriodInDays can only be specified when PointInTimeRecoveryEnabled is true");
        var now = ctx.Engine.NowSeconds();
        await ctx.Engine.Database.UpdateTableAsync(table, d =>
        {
            if (enabled == true)
            {
                if (d.RecoveryPeriodInDays == null) d.RecoveryEnabledAt = now;
                d.RecoveryPeriodInDays = (int)(days ?? MaxRecoveryDays);
            }
            else
            {
                d.RecoveryPeriodInDays = null;
                d.RecoveryEnabledAt = null;
            }
        }).ConfigureAwait(false);
        WriteContinuousBackups(ctx, w, table.Definition);
    }

    public static ValueTask DescribeContinuousBackupsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = Req.String(req, "TableName");
        var errors = new ConstraintErrors();
        errors.Name("tableName", name);
        errors.ThrowIfAny();
        var table = ctx.Engine.Database.FindTable(name!) ?? throw DynamoErrors.TableNotFoundForRestore($"Table not found: {name}");
        WriteContinuousBackups(ctx, w, table.Definition);
        return ValueTask.CompletedTask;
    }

    public static async ValueTask RestoreTableToPointInTimeAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var sourceName = Req.String(req, "SourceTableName");
        var sourceArn = Req.String(req, "SourceTableArn");
        var target = Req.String(req, "TargetTableName");
        var useLatest = Req.Bool(req, "UseLatestRestorableTime") ?? false;
        var at = Req.Double(req, "RestoreDateTime");
        var errors = new ConstraintErrors();
        errors.Name("targetTableName", target);
        if (sourceName != null) errors.Name("sourceTableName", sourceName);
        errors.ThrowIfAny();
        if (sourceName == null && sourceArn == null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: Either SourceTableName or SourceTableArn must be specified");
        if (useLatest && at != null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: RestoreDateTime cannot be specified when UseLatestRestorableTime is true");
        if (!useLatest && at == null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: Either RestoreDateTime or UseLatestRestorableTime must be specified");

        var db = ctx.Engine.Database;
        var source = sourceName != null ? db.FindTable(sourceName) : db.Tables.FirstOrDefault(t => t.Definition.Arn == sourceArn);

        // A deleted table that had point-in-time recovery: its SYSTEM backup holds its items at deletion, and the
        // change log what happened before, within its window.
        var deleted = source != null ? null : db.Backups.List().LastOrDefault(b => b.Type == "SYSTEM"
            && (sourceArn != null ? b.Table.Arn == sourceArn : b.Table.Name == sourceName) && b.Table.RecoveryPeriodInDays != null);
        if (source == null && deleted == null) throw DynamoErrors.TableNotFoundForRestore($"Table not found: {sourceName ?? sourceArn}");
        var definition = source?.Definition ?? deleted!.Table;
        if (definition.RecoveryPeriodInDays == null)
            throw DynamoErrors.PointInTimeRecoveryUnavailable($"Point in time recovery is not enabled for table '{definition.Name}'");
        var (earliest, latest) = Window(ctx, definition);
        if (deleted != null) latest = Math.Min(latest, Math.Floor(deleted.CreatedAt));
        var moment = useLatest ? latest : at!.Value;
        if (moment < earliest || moment > latest + 1)
            throw DynamoErrors.InvalidRestoreTime($"Restore time is not within the restore window: earliest {Readable(earliest)}, latest {Readable(latest)}");

        var micros = (long)Math.Floor(moment * 1_000_000);
        var summary = new RestoreSummary { SourceTableArn = definition.Arn, RestoreDateTime = moment, InProgress = true };
        await RestoreAsync(ctx, req, definition, target!, summary,
            visit => source != null ? db.StreamTableAtAsync(source, micros, visit, CancellationToken.None) : db.StreamDeletedTableAtAsync(deleted!, micros, visit), w).ConfigureAwait(false);
    }

    public static async ValueTask CreateBackupAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = Req.String(req, "TableName");
        var backupName = Req.String(req, "BackupName");
        var errors = new ConstraintErrors();
        errors.Name("tableName", name);
        errors.Name("backupName", backupName);
        errors.ThrowIfAny();
        var db = ctx.Engine.Database;
        var table = db.FindTable(name!) ?? throw DynamoErrors.TableNotFoundForRestore($"Table not found: {name}");
        var meta = await db.CreateBackupAsync(table, backupName!, "USER").ConfigureAwait(false);
        w.WriteStartObject();
        WriteDetails(w, meta, "AVAILABLE");
        w.WriteEndObject();
    }

    public static ValueTask DescribeBackupAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var meta = RequireBackup(ctx, req);
        w.WriteStartObject();
        WriteDescription(w, meta, "AVAILABLE");
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static async ValueTask DeleteBackupAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var meta = RequireBackup(ctx, req);
        await ctx.Engine.Database.Backups.DeleteAsync(meta.Arn).ConfigureAwait(false);
        w.WriteStartObject();
        WriteDescription(w, meta, "DELETED");
        w.WriteEndObject();
    }

    public static ValueTask ListBackupsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = Req.String(req, "TableName");
        var limit = Req.Long(req, "Limit", "Integer");
        var lower = Req.Double(req, "TimeRangeLowerBound");
        var upper = Req.Double(req, "TimeRangeUpperBound");
        var type = Req.String(req, "BackupType");
        var start = Req.String(req, "ExclusiveStartBackupArn");
        var errors = new ConstraintErrors();
        if (name != null) errors.Name("tableName", name);
        errors.Range("limit", limit, 1, 100);
        errors.Enum("backupType", type, "USER, SYSTEM, AWS_BACKUP, ALL", "USER", "SYSTEM", "AWS_BACKUP", "ALL");
        errors.ThrowIfAny();
        if (lower != null && upper != null && lower > upper)
            throw DynamoErrors.Validation("TimeRangeLowerBound must be less than or equal to TimeRangeUpperBound");

        var all = ctx.Engine.Database.Backups.List()
            .Where(b => name == null || b.Table.Name == name)
            .Where(b => lower == null || b.CreatedAt >= lower)
            .Where(b => upper == null || b.CreatedAt < upper)
            .Where(b => type is null or "ALL" || b.Type == type)
            .ToList();
        var from = start == null ? 0 : all.FindIndex(b => b.Arn == start) + 1;
        var page = all.Skip(from).Take((int)(limit ?? 100)).ToList();
        w.WriteStartObject();
        w.WriteStartArray("BackupSummaries"u8);
        foreach (var b in page)
        {
            w.WriteStartObject();
            w.WriteString("TableName"u8, b.Table.Name);
            w.WriteString("TableId"u8, b.Table.TableId);
            w.WriteString("TableArn"u8, b.Table.Arn);
            w.WriteString("BackupArn"u8, b.Arn);
            w.WriteString("BackupName"u8, b.Name);
            w.WriteNumber("BackupCreationDateTime"u8, b.CreatedAt);
            w.WriteString("BackupStatus"u8, "AVAILABLE");
            w.WriteString("BackupType"u8, b.Type);
            w.WriteNumber("BackupSizeBytes"u8, b.SizeBytes);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (from + page.Count < all.Count) w.WriteString("LastEvaluatedBackupArn"u8, page[^1].Arn);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static async ValueTask RestoreTableFromBackupAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var target = Req.String(req, "TargetTableName");
        var errors = new ConstraintErrors();
        errors.Name("targetTableName", target);
        errors.NotNull("backupArn", Req.String(req, "BackupArn"));
        errors.ThrowIfAny();
        var meta = RequireBackup(ctx, req);
        var summary = new RestoreSummary { SourceTableArn = meta.Table.Arn, SourceBackupArn = meta.Arn, RestoreDateTime = meta.CreatedAt, InProgress = true };
        await RestoreAsync(ctx, req, meta.Table, target!, summary, visit => Database.VisitAllAsync(ctx.Engine.Database.Backups.ReadItems(meta.Arn), visit), w).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates the target table from the source's definition (with AWS's overrides) in CREATING, answers, and loads
    /// the items in the background; the table turns ACTIVE when they are all in.
    /// </summary>
    private static async Task RestoreAsync(
        OperationContext ctx, JsonElement req, TableDefinition source, string targetName, RestoreSummary summary,
        Func<StoredItemVisitor, Task> items, Utf8JsonWriter w)
    {
        var db = ctx.Engine.Database;
        if (db.FindTable(targetName) != null) throw DynamoErrors.TableAlreadyExists($"Table already exists: {targetName}");
        var billing = Req.String(req, "BillingModeOverride") ?? source.BillingMode;
        var throughput = Req.Object(req, "ProvisionedThroughputOverride");
        var keepGlobal = Req.List(req, "GlobalSecondaryIndexOverride")?.EnumerateArray().Select(e => Req.String(e, "IndexName")).ToHashSet();
        var keepLocal = Req.List(req, "LocalSecondaryIndexOverride")?.EnumerateArray().Select(e => Req.String(e, "IndexName")).ToHashSet();
        var errors = new ConstraintErrors();
        errors.Enum("billingModeOverride", Req.String(req, "BillingModeOverride"), "PROVISIONED, PAY_PER_REQUEST", BillingModes.Provisioned, BillingModes.PayPerRequest);
        var (rcu, wcu) = ThroughputRules.Read(throughput, errors, "provisionedThroughputOverride");
        var (_, sseRequest) = SseSpecification.Read(req, errors, "SSESpecificationOverride");
        errors.ThrowIfAny();
        // Without an override the restored table has the AWS owned key, as a restore from a DynamoDB backup has on AWS.
        var sse = SseSpecification.Resolve(ctx, sseRequest);
        if (billing == BillingModes.Provisioned && source.BillingMode == BillingModes.PayPerRequest && throughput == null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: ProvisionedThroughputOverride must be specified when BillingModeOverride is PROVISIONED");

        var now = ctx.Engine.NowSeconds();
        TableState table;
        try
        {
            table = await db.CreateTableAsync(targetName, nextNumber =>
            {
                var d = source.Clone();
                var indexes = d.Indexes?
                    .Where(i => i.Global ? keepGlobal == null || keepGlobal.Contains(i.Name) : keepLocal == null || keepLocal.Contains(i.Name))
                    .ToList();
                return new TableDefinition
                {
                    Name = targetName, TableNumber = nextNumber(), TableId = Guid.NewGuid().ToString(), Region = source.Region, AccountId = source.AccountId,
                    HashKey = source.HashKey, RangeKey = source.RangeKey, AttributeDefinitions = d.AttributeDefinitions,
                    BillingMode = billing, ReadCapacityUnits = rcu ?? (billing == BillingModes.PayPerRequest ? 0 : source.ReadCapacityUnits),
                    WriteCapacityUnits = wcu ?? (billing == BillingModes.PayPerRequest ? 0 : source.WriteCapacityUnits),
                    LastUpdateToPayPerRequestDateTime = billing == BillingModes.PayPerRequest ? now : null,
                    TableClass = source.TableClass, CreationDateTime = now, Restore = summary, Sse = sse,
                    Indexes = indexes is { Count: > 0 }
                        ? [.. indexes.Select(i => { var c = i.Clone(); return new IndexDefinition
                          {
                              Name = c.Name, Number = nextNumber(), Global = c.Global, HashKey = c.HashKey, RangeKey = c.RangeKey,
                              ProjectionType = c.ProjectionType, NonKeyAttributes = c.NonKeyAttributes, Status = IndexStatus.Active,
                              ReadCapacityUnits = c.ReadCapacityUnits, WriteCapacityUnits = c.WriteCapacityUnits,
                          }; })]
                        : null,
                };
            }).ConfigureAwait(false);
        }
        catch (StoreException e) when (e.Status == StoreStatus.TableExists)
        {
            throw DynamoErrors.TableAlreadyExists($"Table already exists: {targetName}");
        }

        w.WriteStartObject();
        w.WritePropertyName("TableDescription"u8);
        TableDescriptionWriter.Write(w, table, "CREATING");
        w.WriteEndObject();

        _ = Task.Run(async () =>
        {
            await db.LoadAsync(table, items).ConfigureAwait(false);
            await db.UpdateTableAsync(table, d =>
            {
                if (d.Restore != null) d.Restore = d.Restore with { InProgress = false };
            }).ConfigureAwait(false);
        });
    }

    /// <summary>An epoch-seconds instant as ISO 8601 UTC, with the epoch value that clients send and receive.</summary>
    private static string Readable(double epochSeconds) =>
        $"{DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Floor(epochSeconds * 1000)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)} ({epochSeconds.ToString(CultureInfo.InvariantCulture)})";

    private static (double Earliest, double Latest) Window(OperationContext ctx, TableDefinition d)
    {
        var now = ctx.Engine.NowSeconds();
        var earliest = Math.Max(d.RecoveryEnabledAt ?? now, now - (TimeSpan.FromDays(d.RecoveryPeriodInDays ?? 0).TotalSeconds));
        if (ctx.Engine.Database.OldestRestorableMicros() is { } oldest) earliest = Math.Max(earliest, Math.Floor(oldest / 1_000_000.0));
        return (Math.Floor(earliest), Math.Floor(now) - 1);
    }

    private static void WriteContinuousBackups(OperationContext ctx, Utf8JsonWriter w, TableDefinition d)
    {
        w.WriteStartObject();
        w.WriteStartObject("ContinuousBackupsDescription"u8);
        w.WriteString("ContinuousBackupsStatus"u8, "ENABLED");
        w.WriteStartObject("PointInTimeRecoveryDescription"u8);
        w.WriteString("PointInTimeRecoveryStatus"u8, d.RecoveryPeriodInDays == null ? "DISABLED" : "ENABLED");
        if (d.RecoveryPeriodInDays is { } days)
        {
            var (earliest, latest) = Window(ctx, d);
            w.WriteNumber("RecoveryPeriodInDays"u8, days);
            w.WriteNumber("EarliestRestorableDateTime"u8, earliest);
            w.WriteNumber("LatestRestorableDateTime"u8, Math.Max(earliest, latest));
        }

        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static BackupMeta RequireBackup(OperationContext ctx, JsonElement req)
    {
        var arn = Req.String(req, "BackupArn");
        var errors = new ConstraintErrors();
        errors.NotNull("backupArn", arn);
        if (arn is { Length: < 37 }) errors.Add("backupArn", arn, "Member must have length greater than or equal to 37");
        errors.ThrowIfAny();
        return ctx.Engine.Database.Backups.Find(arn!) ?? throw DynamoErrors.BackupNotFound($"Backup not found: {arn}");
    }

    private static void WriteDetails(Utf8JsonWriter w, BackupMeta b, string status)
    {
        w.WriteStartObject("BackupDetails"u8);
        w.WriteString("BackupArn"u8, b.Arn);
        w.WriteString("BackupName"u8, b.Name);
        w.WriteNumber("BackupSizeBytes"u8, b.SizeBytes);
        w.WriteString("BackupStatus"u8, status);
        w.WriteString("BackupType"u8, b.Type);
        w.WriteNumber("BackupCreationDateTime"u8, b.CreatedAt);
        w.WriteEndObject();
    }

    private static void WriteDescription(Utf8JsonWriter w, BackupMeta b, string status)
    {
        var t = b.Table;
        w.WriteStartObject("BackupDescription"u8);
        WriteDetails(w, b, status);
        w.WriteStartObject("SourceTableDetails"u8);
        w.WriteString("TableName"u8, t.Name);
        w.WriteString("TableId"u8, t.TableId);
        w.WriteString("TableArn"u8, t.Arn);
        w.WriteNumber("TableSizeBytes"u8, b.SizeBytes);
        TableDescriptionWriter.WriteKeySchema(w, t);
        w.WriteNumber("TableCreationDateTime"u8, t.CreationDateTime);
        w.WriteStartObject("ProvisionedThroughput"u8);
        w.WriteNumber("ReadCapacityUnits"u8, t.ReadCapacityUnits);
        w.WriteNumber("WriteCapacityUnits"u8, t.WriteCapacityUnits);
        w.WriteEndObject();
        w.WriteNumber("ItemCount"u8, b.ItemCount);
        w.WriteString("BillingMode"u8, t.BillingMode);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
