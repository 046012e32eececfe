using System.Text.Json;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// UpdateTable's ReplicaUpdates (global tables version 2019.11.21): one Create, Update or Delete of a replica in
/// another region, recorded in this table's definition; the replicator (src/Replicator/GlobalTables) then creates,
/// fills, updates or removes the replica there. Also MultiRegionConsistency and witnesses, which are validated and
/// refused (multi-region strong consistency is not built).
/// </summary>
internal static class ReplicaUpdates
{
    private sealed record Update(string Action, string Region, ReplicaDefinition Settings, bool HasOverrides);

    /// <summary>Whether the request has replica changes (then they are the only change it may make besides a stream).</summary>
    public static bool Requested(JsonElement req) =>
        Req.Has(req, "ReplicaUpdates") || Req.Has(req, "MultiRegionConsistency") || Req.Has(req, "GlobalTableWitnessUpdates");

    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, TableState table, Utf8JsonWriter w)
    {
        var consistency = Req.String(req, "MultiRegionConsistency");
        var errors = new ConstraintErrors();
        errors.Enum("multiRegionConsistency", consistency, "EVENTUAL, STRONG", "EVENTUAL", "STRONG");
        var update = Read(req, errors);
        errors.ThrowIfAny();
        if (Req.Has(req, "GlobalTableWitnessUpdates") || consistency == "STRONG")
            throw DynamoErrors.Validation("Multi-Region strong consistency (MultiRegionConsistency STRONG, GlobalTableWitnessUpdates) is not supported by this server: global tables here are eventually consistent (MultiRegionConsistency EVENTUAL).");
        if (update == null) throw DynamoErrors.ReplicaActionEmpty();

        var d = table.Definition;
        if (update.Region == ctx.Region || update.Region == d.Region)
            throw DynamoErrors.ReplicaLocalRegion();
        var existing = d.Global?.Find(update.Region);
        if (d.Global is { } global && global.Replicas.Exists(r => r.Status is ReplicaStatus.Creating or ReplicaStatus.Deleting or ReplicaStatus.Updating))
            throw DynamoErrors.ResourceInUse($"Attempt to change a resource which is still in use: Table is being updated: {d.Name}");
        if (d.Indexes?.Exists(i => i.Status != IndexStatus.Active) == true || d.Restore is { InProgress: true })
            throw DynamoErrors.ResourceInUse($"Attempt to change a resource which is still in use: Table is being updated: {d.Name}");
        switch (update.Action)
        {
            case "Create":
                // No stream prerequisite on AWS: a stream of any view type stays as it is (replication reads the
                // change log, which always holds whole items); a table without one gets NEW_AND_OLD_IMAGES below.
                if (existing != null) throw DynamoErrors.ReplicaExists(d.Name);
                // AWS replicates writes only at a capacity every replica can follow: on demand, or auto scaled.
                if (d.BillingMode != "PAY_PER_REQUEST" && d.AutoScaling?.Find(AutoScaling.ScalableResource.TableWrite, null) == null)
                    throw DynamoErrors.ReplicaNeedsScaledWrites();
                if (ctx.Engine.Database.Log == null)
                    throw DynamoErrors.Validation("Global tables replicate the change log, which an in-memory server does not keep: start it with a data directory.");
                var problem = ctx.Engine.GlobalTables is { } host ? host.ReplicaProblem(update.Region, d.Name) : "region";
                if (problem == "region") throw DynamoErrors.ReplicaRegionNotSupported(update.Region, ctx.Engine.GlobalTables?.Regions ?? []);
                if (problem != null) throw DynamoErrors.ReplicaExists(d.Name);
                break;
            case "Update":
            case "Delete":
                if (update.Action == "Update" && !update.HasOverrides) throw DynamoErrors.ReplicaActionEmpty();
                if (existing == null) throw DynamoErrors.ReplicaNotInGroup(update.Region);
                break;
        }

        if (update.Action == "Create") update.Settings.Indexes?.RemoveAll(i => d.FindIndex(i.IndexName) is not { Global: true }); // AWS ignores an unknown one
        else CheckIndexOverrides(d, update.Settings);
        var now = ctx.Engine.NowSeconds();
        await ctx.Engine.Database.UpdateTableAsync(table, t =>
        {
            t.Global ??= new GlobalTableDefinition();
            switch (update.Action)
            {
                case "Create":
                    if (t.StreamViewType == null) StreamSettings.Apply(t, (true, "NEW_AND_OLD_IMAGES"), ctx.Engine.Database.NextLsn, now);
                    update.Settings.Status = ReplicaStatus.Creating;
                    update.Settings.PercentProgress = "0";
                    t.Global.Replicas.Add(update.Settings);
                    if (t.Global.Removed?.Remove(update.Region) == true && t.Global.Removed.Count == 0) t.Global.Removed = null; // added again
                    break;
                case "Update":
                    {
                        var r = t.Global.Find(update.Region)!;
                        if (update.Settings.KmsMasterKeyId != null) r.KmsMasterKeyId = update.Settings.KmsMasterKeyId;
                        if (update.Settings.ReadCapacityUnitsOverride != null) r.ReadCapacityUnitsOverride = update.Settings.ReadCapacityUnitsOverride;
                        if (update.Settings.MaxReadRequestUnitsOverride != null) r.MaxReadRequestUnitsOverride = update.Settings.MaxReadRequestUnitsOverride;
                        if (update.Settings.TableClassOverride != null) r.TableClassOverride = update.Settings.TableClassOverride;
                        if (update.Settings.Indexes != null) r.Indexes = update.Settings.Indexes;
                        r.Status = ReplicaStatus.Updating;
                        break;
                    }

                case "Delete":
                    t.Global.Find(update.Region)!.Status = ReplicaStatus.Deleting;
                    break;
            }
        }).ConfigureAwait(false);
        ctx.Engine.GlobalTables?.Poke();

        w.WriteStartObject();
        w.WritePropertyName("TableDescription"u8);
        TableDescriptionWriter.Write(w, table, "UPDATING");
        w.WriteEndObject();
    }

    /// <summary>
    /// The one replica action of the request. AWS takes one Create or Delete per call (two identical elements count
    /// once), never two kinds of action, and names each refusal as <see cref="DynamoErrors.ReplicaActionsMoreThanOne"/>
    /// lists.
    /// </summary>
    private static Update? Read(JsonElement req, ConstraintErrors errors)
    {
        if (Req.List(req, "ReplicaUpdates") is not { } list) return null;
        Update? result = null;
        string? firstText = null;
        var index = 0;
        foreach (var e in list.EnumerateArray())
        {
            index++;
            Req.RequireObject(e, "ReplicationGroupUpdate");
            var update = ReadOne(e, index, errors);
            var text = e.GetRawText();
            if (result == null)
            {
                (result, firstText) = (update, text);
                continue;
            }

            if (text == firstText) continue; // the same action twice: once
            if (update.Action != result.Action) throw DynamoErrors.ReplicaActionsOfTwoTypes();
            throw update.Action == "Update" ? DynamoErrors.ReplicaActionsSameActionRegions() : DynamoErrors.ReplicaActionsMoreThanOne();
        }

        return result;
    }

    private static Update ReadOne(JsonElement e, int index, ConstraintErrors errors)
    {
        Update? result = null;
        foreach (var action in (string[])["Create", "Update", "Delete"])
        {
            if (Req.Object(e, action) is not { } body) continue;
            if (result != null) throw DynamoErrors.ReplicaActionsOfTwoTypes();
            var region = Req.String(body, "RegionName");
            var path = $"replicaUpdates.{index}.member.{char.ToLowerInvariant(action[0])}{action[1..]}";
            errors.NotNull($"{path}.regionName", region);
            var settings = new ReplicaDefinition { RegionName = region ?? "" };
            var overrides = false;
            if (action != "Delete")
            {
                settings.KmsMasterKeyId = Req.String(body, "KMSMasterKeyId");
                settings.TableClassOverride = Req.String(body, "TableClassOverride");
                if (settings.TableClassOverride != null && !TableClasses.IsValid(settings.TableClassOverride)) throw DynamoErrors.Validation(TableClasses.InvalidMessage);
                settings.ReadCapacityUnitsOverride = ReadUnits(body, "ProvisionedThroughputOverride", "ReadCapacityUnits");
                settings.MaxReadRequestUnitsOverride = ReadUnits(body, "OnDemandThroughputOverride", "MaxReadRequestUnits");
                if (Req.List(body, "GlobalSecondaryIndexes") is { } indexes)
                {
                    settings.Indexes = [];
                    foreach (var i in indexes.EnumerateArray())
                    {
                        Req.RequireObject(i, "ReplicaGlobalSecondaryIndex");
                        var name = Req.String(i, "IndexName");
                        errors.Name($"{path}.globalSecondaryIndexes.member.indexName", name);
                        settings.Indexes.Add(new ReplicaIndexDefinition
                        {
                            IndexName = name ?? "",
                            ReadCapacityUnitsOverride = ReadUnits(i, "ProvisionedThroughputOverride", "ReadCapacityUnits"),
                            MaxReadRequestUnitsOverride = ReadUnits(i, "OnDemandThroughputOverride", "MaxReadRequestUnits"),
                        });
                    }
                }

                overrides = settings.KmsMasterKeyId != null || settings.TableClassOverride != null || settings.ReadCapacityUnitsOverride != null
                    || settings.MaxReadRequestUnitsOverride != null || settings.Indexes != null;
            }

            result = new Update(action, region ?? "", settings, overrides);
        }

        return result ?? throw DynamoErrors.ReplicaActionEmpty();
    }

    private static long? ReadUnits(JsonElement body, string member, string units)
    {
        if (Req.Object(body, member) is not { } o) return null;
        var value = Req.Long(o, units);
        if (value is < 1) throw DynamoErrors.Validation($"One or more parameter values were invalid: {units} must be greater than or equal to 1 in {member}");
        return value;
    }

    private static void CheckIndexOverrides(TableDefinition d, ReplicaDefinition settings)
    {
        foreach (var index in settings.Indexes ?? [])
        {
            if (d.FindIndex(index.IndexName) is not { Global: true })
                throw DynamoErrors.Validation($"One or more parameter values were invalid: Global Secondary Index {index.IndexName} does not exist on table {d.Name}");
        }
    }

    /// <summary>DescribeTable's <c>GlobalTableVersion</c> and <c>Replicas</c> of a replicated table.</summary>
    public static void WriteDescription(Utf8JsonWriter w, TableDefinition d)
    {
        if (d.Global is not { Replicas.Count: > 0 } global) return;
        w.WriteString("GlobalTableVersion"u8, global.Version);
        w.WriteStartArray("Replicas"u8);
        foreach (var r in global.Replicas)
        {
            w.WriteStartObject();
            w.WriteString("RegionName"u8, r.RegionName);
            w.WriteString("ReplicaStatus"u8, r.Status);
            if (r.Status == ReplicaStatus.Creating && r.PercentProgress != null) w.WriteString("ReplicaStatusPercentProgress"u8, r.PercentProgress);
            if (r.InaccessibleSince is { } since) w.WriteNumber("ReplicaInaccessibleDateTime"u8, since);
            if (r.KmsMasterKeyId != null) w.WriteString("KMSMasterKeyId"u8, r.KmsMasterKeyId);
            if (r.ReadCapacityUnitsOverride is { } rcu)
            {
                w.WriteStartObject("ProvisionedThroughputOverride"u8);
                w.WriteNumber("ReadCapacityUnits"u8, rcu);
                w.WriteEndObject();
            }

            if (r.MaxReadRequestUnitsOverride is { } rru)
            {
                w.WriteStartObject("OnDemandThroughputOverride"u8);
                w.WriteNumber("MaxReadRequestUnits"u8, rru);
                w.WriteEndObject();
            }

            if (r.Indexes is { Count: > 0 } indexes)
            {
                w.WriteStartArray("GlobalSecondaryIndexes"u8);
                foreach (var i in indexes)
                {
                    w.WriteStartObject();
                    w.WriteString("IndexName"u8, i.IndexName);
                    if (i.ReadCapacityUnitsOverride is { } ircu)
                    {
                        w.WriteStartObject("ProvisionedThroughputOverride"u8);
                        w.WriteNumber("ReadCapacityUnits"u8, ircu);
                        w.WriteEndObject();
                    }

                    if (i.MaxReadRequestUnitsOverride is { } irru)
                    {
                        w.WriteStartObject("OnDemandThroughputOverride"u8);
                        w.WriteNumber("MaxReadRequestUnits"u8, irru);
                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartObject("ReplicaTableClassSummary"u8);
            w.WriteString("TableClass"u8, r.TableClassOverride ?? d.TableClass);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>A replicated table is UPDATING while one of its replicas is being created, updated or deleted.</summary>
    public static string Status(TableDefinition d, string otherwise) =>
        d.Global?.Replicas.Exists(r => r.Status is ReplicaStatus.Creating or ReplicaStatus.Updating or ReplicaStatus.Deleting) == true ? "UPDATING" : otherwise;
}
