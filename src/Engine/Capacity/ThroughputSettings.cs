using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Capacity;

/// <summary>
/// OnDemandThroughput and WarmThroughput of tables and global indexes: read and checked on CreateTable and
/// UpdateTable with AWS's messages, applied to the definition, and written in TableDescription.
/// </summary>
internal static class ThroughputSettings
{
    /// <summary>What a new on-demand table serves at once (and reports as its warm throughput), as on AWS.</summary>
    public const long OnDemandInitialReads = 12000;

    public const long OnDemandInitialWrites = 4000;

    private const string Invalid = "One or more parameter values were invalid: ";

    /// <summary>The settings one request asks for, for the table and by index name; applied inside the catalog change.</summary>
    public sealed class Plan
    {
        public OnDemandLimits? Table { get; set; }

        public WarmThroughputDefinition? TableWarm { get; set; }

        public Dictionary<string, (OnDemandLimits? Limits, WarmThroughputDefinition? Warm)> Indexes { get; } = new(StringComparer.Ordinal);

        public bool Any => Table != null || TableWarm != null || Indexes.Count > 0;

        public void Apply(TableDefinition d)
        {
            if (Table != null) d.OnDemandThroughput = Table;
            if (TableWarm != null) d.WarmThroughput = TableWarm;
            foreach (var (name, (limits, warm)) in Indexes)
            {
                if (d.FindIndex(name) is not { Global: true } index) continue;
                if (limits != null) index.OnDemandThroughput = limits;
                if (warm != null) index.WarmThroughput = warm;
            }
        }
    }

    /// <summary>CreateTable's OnDemandThroughput and WarmThroughput, of the table and of each GlobalSecondaryIndexes entry.</summary>
    public static Plan ReadCreate(JsonElement req, string billingMode, long? rcu, long? wcu)
    {
        var plan = new Plan();
        var provisioned = billingMode == "PROVISIONED";
        if (Req.Object(req, "OnDemandThroughput") is { } od) plan.Table = ReadLimits(od, provisioned, null, null, update: false);
        if (Req.Object(req, "WarmThroughput") is { } warm) plan.TableWarm = ReadCreateWarm(warm, provisioned, rcu, wcu, null);
        if (Req.List(req, "GlobalSecondaryIndexes") is { } globals)
        {
            foreach (var g in globals.EnumerateArray())
            {
                if (g.ValueKind != JsonValueKind.Object || Req.String(g, "IndexName") is not { } name) continue;
                var limits = Req.Object(g, "OnDemandThroughput") is { } iod ? ReadLimits(iod, provisioned, name, null, update: false) : null;
                WarmThroughputDefinition? indexWarm = null;
                if (Req.Object(g, "WarmThroughput") is { } iw)
                {
                    var pt = Req.Object(g, "ProvisionedThroughput");
                    indexWarm = ReadCreateWarm(iw, provisioned, pt is { } p ? Req.Long(p, "ReadCapacityUnits") : null, pt is { } q ? Req.Long(q, "WriteCapacityUnits") : null, name);
                }

                if (limits != null || indexWarm != null) plan.Indexes[name] = (limits, indexWarm);
            }
        }

        return plan;
    }

    /// <summary>
    /// UpdateTable's OnDemandThroughput and WarmThroughput, of the table and of GlobalSecondaryIndexUpdates' Update and
    /// Create actions; <paramref name="targetMode"/> is the billing mode the table will have.
    /// </summary>
    public static Plan ReadUpdate(JsonElement req, TableDefinition current, string targetMode)
    {
        var plan = new Plan();
        var provisioned = targetMode == "PROVISIONED";
        if (Req.Object(req, "OnDemandThroughput") is { } od) plan.Table = ReadLimits(od, provisioned, null, current.OnDemandThroughput, update: true);
        if (Req.Object(req, "WarmThroughput") is { } warm) plan.TableWarm = ReadUpdateWarm(warm, Effective(current, null), current.WarmThroughput, null);
        if (Req.List(req, "GlobalSecondaryIndexUpdates") is { } updates)
        {
            foreach (var u in updates.EnumerateArray())
            {
                if (u.ValueKind != JsonValueKind.Object) continue;
                var action = Req.Object(u, "Update") ?? Req.Object(u, "Create");
                if (action is not { } a || Req.String(a, "IndexName") is not { } name) continue;
                var existing = current.FindIndex(name);
                var limits = Req.Object(a, "OnDemandThroughput") is { } iod ? ReadLimits(iod, provisioned, name, existing?.OnDemandThroughput, update: existing != null) : null;
                WarmThroughputDefinition? indexWarm = null;
                if (Req.Object(a, "WarmThroughput") is { } iw)
                {
                    indexWarm = existing != null
                        ? ReadUpdateWarm(iw, Effective(current, existing), existing.WarmThroughput, name)
                        : new WarmThroughputDefinition { ReadUnitsPerSecond = Req.Long(iw, "ReadUnitsPerSecond") ?? 0, WriteUnitsPerSecond = Req.Long(iw, "WriteUnitsPerSecond") ?? 0 };
                }

                if (limits != null || indexWarm != null) plan.Indexes[name] = (limits, indexWarm);
            }
        }

        return plan;
    }

    private static OnDemandLimits ReadLimits(JsonElement od, bool provisioned, string? index, OnDemandLimits? current, bool update)
    {
        var read = Req.Long(od, "MaxReadRequestUnits");
        var write = Req.Long(od, "MaxWriteRequestUnits");
        var of = index == null ? "" : "for index : " + index + " ";
        if (provisioned && (read != null || write != null))
            throw DynamoErrors.Validation(Invalid + (read != null ? "MaxReadRequestUnits" : "MaxWriteRequestUnits") + " for OnDemandThroughput " + of + "cannot be specified when the table BillingMode is PROVISIONED");
        Check(read, "MaxReadRequestUnits");
        Check(write, "MaxWriteRequestUnits");
        var basis = current ?? new OnDemandLimits();
        return new OnDemandLimits { MaxReadRequestUnits = read ?? basis.MaxReadRequestUnits, MaxWriteRequestUnits = write ?? basis.MaxWriteRequestUnits };

        void Check(long? value, string member)
        {
            if (value is not { } v || v >= 1 || (update && v == -1)) return;
            throw DynamoErrors.Validation(Invalid + "Requested " + member + " for OnDemandThroughput for " + (index == null ? "table" : "index : " + index) + " is outside of valid range");
        }
    }

    private static WarmThroughputDefinition ReadCreateWarm(JsonElement warm, bool provisioned, long? rcu, long? wcu, string? index)
    {
        var read = Req.Long(warm, "ReadUnitsPerSecond");
        var write = Req.Long(warm, "WriteUnitsPerSecond");
        var of = index == null ? "table" : "index " + index;
        if (provisioned && read is { } r && rcu is { } pr && r < pr)
            throw DynamoErrors.Validation(Invalid + "Requested ReadUnitsPerSecond for WarmThroughput for " + of + " is lower than ReadCapacityUnits of ProvisionedThroughput");
        if (provisioned && write is { } wr && wcu is { } pw && wr < pw)
            throw DynamoErrors.Validation(Invalid + "Requested WriteUnitsPerSecond for WarmThroughput for " + of + " is lower than WriteCapacityUnits of ProvisionedThroughput");
        return new WarmThroughputDefinition { ReadUnitsPerSecond = read ?? 0, WriteUnitsPerSecond = write ?? 0 };
    }

    private static WarmThroughputDefinition ReadUpdateWarm(JsonElement warm, (long Read, long Write) effective, WarmThroughputDefinition? stored, string? index)
    {
        var read = Req.Long(warm, "ReadUnitsPerSecond");
        var write = Req.Long(warm, "WriteUnitsPerSecond");
        var of = index == null ? "table" : "index " + index;
        if (read is { } r && r < effective.Read)
            throw DynamoErrors.Validation(Invalid + "Requested ReadUnitsPerSecond for WarmThroughput for " + of + " is lower than current WarmThroughput, decreasing WarmThroughput is not supported");
        if (write is { } wr && wr < effective.Write)
            throw DynamoErrors.Validation(Invalid + "Requested WriteUnitsPerSecond for WarmThroughput for " + of + " is lower than current WarmThroughput, decreasing WarmThroughput is not supported");
        return new WarmThroughputDefinition { ReadUnitsPerSecond = read ?? stored?.ReadUnitsPerSecond ?? 0, WriteUnitsPerSecond = write ?? stored?.WriteUnitsPerSecond ?? 0 };
    }

    /// <summary>
    /// The warm throughput DescribeTable reports: what the table or index can serve at once. Never below what a new
    /// on-demand table serves (12,000 reads, 4,000 writes) for on-demand tables, nor below the provisioned units for
    /// provisioned ones; raised by WarmThroughput requests.
    /// </summary>
    public static (long Read, long Write) Effective(TableDefinition table, IndexDefinition? index)
    {
        var onDemand = table.BillingMode == "PAY_PER_REQUEST";
        long read = onDemand ? OnDemandInitialReads : index?.ReadCapacityUnits ?? table.ReadCapacityUnits;
        long write = onDemand ? OnDemandInitialWrites : index?.WriteCapacityUnits ?? table.WriteCapacityUnits;
        var stored = index != null ? index.WarmThroughput : table.WarmThroughput;
        if (stored != null)
        {
            read = Math.Max(read, stored.ReadUnitsPerSecond);
            write = Math.Max(write, stored.WriteUnitsPerSecond);
        }

        return (read, write);
    }

    /// <summary>Writes OnDemandThroughput (on-demand tables and their GSIs) and WarmThroughput of a table or GSI description.</summary>
    public static void Write(Utf8JsonWriter w, TableDefinition table, IndexDefinition? index, string? indexStatus = null)
    {
        if (table.BillingMode == "PAY_PER_REQUEST")
        {
            var limits = (index != null ? index.OnDemandThroughput : table.OnDemandThroughput) ?? new OnDemandLimits();
            w.WriteStartObject("OnDemandThroughput"u8);
            w.WriteNumber("MaxReadRequestUnits"u8, limits.MaxReadRequestUnits);
            w.WriteNumber("MaxWriteRequestUnits"u8, limits.MaxWriteRequestUnits);
            w.WriteEndObject();
        }

        var (read, write) = Effective(table, index);
        w.WriteStartObject("WarmThroughput"u8);
        w.WriteNumber("ReadUnitsPerSecond"u8, read);
        w.WriteNumber("WriteUnitsPerSecond"u8, write);
        w.WriteString("Status"u8, index == null ? "ACTIVE" : indexStatus ?? IndexStatus.Active);
        w.WriteEndObject();
    }
}
