using System.Text.Json;
using Serverless.Engine.Capacity;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>UpdateTable: billing mode, provisioned throughput, table class and deletion protection.</summary>
internal static class UpdateTable
{
    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var billingMode = Req.String(req, "BillingMode");
        var throughput = Req.Object(req, "ProvisionedThroughput");
        var tableClass = Req.String(req, "TableClass");
        var deletionProtection = Req.Bool(req, "DeletionProtectionEnabled");
        var errors = new ConstraintErrors();
        errors.Enum("billingMode", billingMode, "PROVISIONED, PAY_PER_REQUEST", BillingModes.Provisioned, BillingModes.PayPerRequest);
        var (rcu, wcu) = ThroughputRules.Read(throughput, errors, "provisionedThroughput");
        var indexUpdates = ReadIndexUpdates(req, errors);
        var stream = StreamSettings.Read(req, errors);
        var (hasSse, sseRequest) = SseSpecification.Read(req, errors);

        errors.ThrowIfAny();
        var table = Tables.RequireForControlPlane(ctx, req);
        if (ReplicaUpdates.Requested(req))
        {
            await ReplicaUpdates.ExecuteAsync(ctx, req, table, w).ConfigureAwait(false); // global tables: src/Engine/Operations/ReplicaUpdates.cs
            return;
        }

        var capacitySettings = Req.Has(req, "OnDemandThroughput") || Req.Has(req, "WarmThroughput");
        if (billingMode == null && throughput == null && tableClass == null && deletionProtection == null && !Req.Has(req, "SSESpecification") && indexUpdates == null && stream == null
            && !capacitySettings)
            throw DynamoErrors.Validation("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates, SSESpecification, ReplicaUpdates, MultiAccountReplicaReady, ReplicaTransitRoleArn, MultiRegionConsistency, DeletionProtectionEnabled, OnDemandThroughput, WarmThroughput or TableClass is required");
        var sse = SseSpecification.Resolve(ctx, sseRequest);
        var others = (billingMode != null ? 1 : 0) + (throughput != null ? 1 : 0);
        if (deletionProtection != null && (others > 0 || tableClass != null))
            throw DynamoErrors.Validation("One or more parameter values were invalid: DeletionProtection modification must be the only operation in the request");
        if (tableClass != null && others > 0)
            throw DynamoErrors.Validation("One or more parameter values were invalid: TableClass modification must be the only operation in the request");
        if (tableClass != null && !TableClasses.IsValid(tableClass)) throw DynamoErrors.Validation(TableClasses.InvalidMessage);

        var current = table.Definition;
        var targetMode = billingMode ?? current.BillingMode;
        if (targetMode == BillingModes.PayPerRequest && throughput != null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST");
        if (targetMode == BillingModes.Provisioned && current.BillingMode == BillingModes.PayPerRequest && throughput == null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED");
        if (throughput != null && current.BillingMode == BillingModes.Provisioned && rcu == current.ReadCapacityUnits && wcu == current.WriteCapacityUnits)
            throw DynamoErrors.Validation(
                $"The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {current.ReadCapacityUnits}. Requested ReadCapacityUnits: {rcu}. Current WriteCapacityUnits provisioned for the table: {current.WriteCapacityUnits}. Requested WriteCapacityUnits: {wcu}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.");

        if (stream is { } spec) StreamSettings.Check(ctx, spec, table.Definition.Name, table.Definition);
        if (stream is { Enabled: false } && table.Definition.Global is { Replicas.Count: > 0 })
            throw DynamoErrors.Validation("One or more parameter values were invalid: Cannot disable stream on a table with replicas. Stream must be enabled for global tables");
        var throughputSettings = ThroughputSettings.ReadUpdate(req, current, targetMode);
        var nowUtc = ctx.Engine.Time.GetUtcNow().UtcDateTime;
        var decrease = rcu is { } dr && wcu is { } dw && current.BillingMode == BillingModes.Provisioned && (dr < current.ReadCapacityUnits || dw < current.WriteCapacityUnits);
        if (decrease) DecreaseLimits.Check(current, nowUtc);
        if (indexUpdates != null)
        {
            await UpdateIndexesAsync(ctx, req, table, indexUpdates, throughputSettings, w).ConfigureAwait(false);
            if (billingMode == null && throughput == null && tableClass == null && deletionProtection == null && stream == null && !hasSse) return;
        }

        var now = ctx.Engine.NowSeconds();
        await ctx.Engine.Database.UpdateTableAsync(table, d =>
        {
            if (billingMode != null && billingMode != d.BillingMode)
            {
                d.BillingMode = billingMode;
                if (billingMode == BillingModes.PayPerRequest) d.LastUpdateToPayPerRequestDateTime = now;
            }

            if (rcu is { } r && wcu is { } wc)
            {
                var previousR = d.BillingMode == BillingModes.PayPerRequest ? 0 : d.ReadCapacityUnits;
                var previousW = d.BillingMode == BillingModes.PayPerRequest ? 0 : d.WriteCapacityUnits;
                if (r > previousR || wc > previousW) d.LastIncreaseDateTime = now;
                if (r < previousR || wc < previousW)
                {
                    d.NumberOfDecreasesToday = DecreaseLimits.DecreasesToday(d, nowUtc) + 1;
                    d.LastDecreaseDateTime = now;
                }

                d.ReadCapacityUnits = r;
                d.WriteCapacityUnits = wc;
            }

            if (tableClass != null) d.TableClass = tableClass;
            if (stream is { } spec) StreamSettings.Apply(d, spec, ctx.Engine.Database.NextLsn, now);
            if (deletionProtection is { } p) d.DeletionProtectionEnabled = p;
            if (hasSse) d.Sse = sse;
            throughputSettings.Apply(d);
        }).ConfigureAwait(false);
        ctx.Engine.Capacity.Refresh(table);

        w.WriteStartObject();
        w.WritePropertyName("TableDescription"u8);
        TableDescriptionWriter.Write(w, table, "ACTIVE");
        w.WriteEndObject();
    }

    private sealed record IndexUpdate(IndexRequest? Create, string? Delete, string? Update, long? ReadCapacityUnits, long? WriteCapacityUnits);

    private static List<IndexUpdate>? ReadIndexUpdates(JsonElement req, ConstraintErrors errors)
    {
        if (Req.List(req, "GlobalSecondaryIndexUpdates") is not { } list) return null;
        var result = new List<IndexUpdate>();
        var i = 0;
        foreach (var e in list.EnumerateArray())
        {
            i++;
            Req.RequireObject(e, "GlobalSecondaryIndexUpdate");
            var path = $"globalSecondaryIndexUpdates.{i}.member";
            if (Req.Object(e, "Create") is { } create)
            {
                if (IndexSchema.Read(create, path + ".create", global: true, errors) is { } index) result.Add(new IndexUpdate(index, null, null, null, null));
            }
            else if (Req.Object(e, "Delete") is { } delete)
            {
                var name = Req.String(delete, "IndexName");
                errors.Name(path + ".delete.indexName", name);
                if (name != null) result.Add(new IndexUpdate(null, name, null, null, null));
            }
            else if (Req.Object(e, "Update") is { } update)
            {
                var name = Req.String(update, "IndexName");
                errors.Name(path + ".update.indexName", name);
                var pt = Req.Object(update, "ProvisionedThroughput");
                if (!Req.Has(update, "OnDemandThroughput") && !Req.Has(update, "WarmThroughput")) errors.NotNull(path + ".update.provisionedThroughput", pt);
                var (r, wc) = ThroughputRules.Read(pt, errors, path + ".update.provisionedThroughput");
                if (name != null) result.Add(new IndexUpdate(null, null, name, r, wc));
            }
            else
            {
                throw DynamoErrors.Validation("One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null");
            }
        }

        if (result.Count == 0 && list.GetArrayLength() == 0)
            throw DynamoErrors.Validation("One or more parameter values were invalid: GlobalSecondaryIndexUpdates cannot be empty");
        return result;
    }

    /// <summary>
    /// Creates (then backfills in the background), deletes or re-provisions global secondary indexes. Like AWS, one
    /// index can be created or deleted at a time per table.
    /// </summary>
    private static async Task UpdateIndexesAsync(
        OperationContext ctx, JsonElement req, TableState table, List<IndexUpdate> updates, ThroughputSettings.Plan throughputSettings, Utf8JsonWriter w)
    {
        var current = table.Definition;
        var onlineChanges = updates.Count(u => u.Create != null || u.Delete != null);
        if (onlineChanges > 1 || (onlineChanges == 1 && table.Indexes.Any(i => i.Definition.Status == IndexStatus.Creating)))
            throw DynamoErrors.LimitExceeded("Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table");

        var definitions = new List<KeyAttribute>(current.AttributeDefinitions);
        var errors = new ConstraintErrors();
        var requestDefinitions = CreateTable.ReadAttributeDefinitions(Req.List(req, "AttributeDefinitions"), errors);
        errors.ThrowIfAny();
        foreach (var a in requestDefinitions ?? [])
        {
            var existing = definitions.Find(d => d.Name == a.Name);
            if (existing == null) definitions.Add(a);
            else if (existing.Type != a.Type)
                throw DynamoErrors.Validation($"One or more parameter values were invalid: Attribute {a.Name} is already defined with type {existing.Type}; it cannot be redefined as {a.Type}");
        }

        IndexDefinition? deleted = null;
        IndexRequest? created = null;
        foreach (var u in updates)
        {
            if (u.Create is { } create)
            {
                if (current.FindIndex(create.Name) != null) throw DynamoErrors.Validation("Attempting to create an index which already exists");
                if ((current.Indexes?.Count(i => i.Global) ?? 0) >= IndexSchema.MaxGlobalIndexes)
                    throw DynamoErrors.LimitExceeded($"One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of {IndexSchema.MaxGlobalIndexes}");
                IndexSchema.Check(null, [create], definitions, current.HashKey, current.RangeKey, current.BillingMode,
                    current.Indexes?.Select(i => i.Name) ?? []);
                created = create;
            }
            else
            {
                var name = u.Delete ?? u.Update!;
                var index = current.FindIndex(name);
                if (index == null || !index.Global) throw DynamoErrors.ResourceNotFound($"Requested resource not found: Index: {name} not found for table: {current.Name}");
                if (u.Delete != null) deleted = index;
                else if (current.BillingMode == BillingModes.PayPerRequest && u.ReadCapacityUnits != null)
                    throw DynamoErrors.Validation($"One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST");
            }
        }

        uint createdNumber = 0;
        await ctx.Engine.Database.UpdateTableAsync(table, (d, nextNumber) =>
        {
            d.Indexes ??= [];
            if (created != null)
            {
                createdNumber = nextNumber();
                d.Indexes.Add(IndexSchema.Build(created, definitions, createdNumber, d.BillingMode, IndexStatus.Creating));
            }

            if (deleted != null) d.Indexes.RemoveAll(i => i.Number == deleted.Number);
            foreach (var u in updates)
            {
                if (u.Update != null && d.FindIndex(u.Update) is { } index)
                {
                    index.ReadCapacityUnits = u.ReadCapacityUnits ?? index.ReadCapacityUnits;
                    index.WriteCapacityUnits = u.WriteCapacityUnits ?? index.WriteCapacityUnits;
                }
            }

            // Keep only the attribute definitions some key still uses.
            var used = new HashSet<string>(StringComparer.Ordinal) { d.HashKey.Name };
            if (d.RangeKey != null) used.Add(d.RangeKey.Name);
            foreach (var i in d.Indexes)
            {
                foreach (var k in i.HashKeys) used.Add(k.Name);
                foreach (var k in i.RangeKeys) used.Add(k.Name);
            }

            d.AttributeDefinitions.Clear();
            d.AttributeDefinitions.AddRange(definitions.Where(a => used.Contains(a.Name)));
            if (d.Indexes.Count == 0) d.Indexes = null;
            throughputSettings.Apply(d);
        }).ConfigureAwait(false);

        ctx.Engine.Capacity.Refresh(table);
        if (created != null) ctx.Engine.Database.StartBackfill(table, createdNumber);
        w.WriteStartObject();
        w.WritePropertyName("TableDescription"u8);
        TableDescriptionWriter.Write(w, table, "UPDATING", deletingIndex: deleted);
        w.WriteEndObject();
    }
}
