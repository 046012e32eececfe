using System.Text.Json;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>Writes DynamoDB's TableDescription for a table, in the shapes CreateTable, DescribeTable and DeleteTable use.</summary>
internal static class TableDescriptionWriter
{
    /// <param name="deletingIndex">An index UpdateTable has just dropped: reported once more, as DELETING.</param>
    public static void Write(Utf8JsonWriter w, TableState table, string status, bool deleted = false, IndexDefinition? deletingIndex = null)
    {
        var d = table.Definition;
        w.WriteStartObject();
        w.WriteString("TableName"u8, d.Name);
        w.WriteString("TableStatus"u8, status == "ACTIVE" ? ReplicaUpdates.Status(d, status) : status);
        w.WriteString("TableId"u8, d.TableId);
        w.WriteString("TableArn"u8, d.Arn);
        if (!deleted)
        {
            w.WriteNumber("CreationDateTime"u8, d.CreationDateTime);
            WriteKeySchema(w, d);
            w.WriteStartArray("AttributeDefinitions"u8);
            foreach (var a in d.AttributeDefinitions.OrderBy(a => a.Name, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("AttributeName"u8, a.Name);
                w.WriteString("AttributeType"u8, a.Type);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteStartObject("ProvisionedThroughput"u8);
        if (d.LastIncreaseDateTime is { } inc) w.WriteNumber("LastIncreaseDateTime"u8, inc);
        if (d.LastDecreaseDateTime is { } dec) w.WriteNumber("LastDecreaseDateTime"u8, dec);
        w.WriteNumber("NumberOfDecreasesToday"u8, d.NumberOfDecreasesToday);
        w.WriteNumber("ReadCapacityUnits"u8, d.BillingMode == BillingModes.PayPerRequest ? 0 : d.ReadCapacityUnits);
        w.WriteNumber("WriteCapacityUnits"u8, d.BillingMode == BillingModes.PayPerRequest ? 0 : d.WriteCapacityUnits);
        w.WriteEndObject();
        w.WriteStartObject("BillingModeSummary"u8);
        w.WriteString("BillingMode"u8, d.BillingMode);
        if (d.LastUpdateToPayPerRequestDateTime is { } ppr) w.WriteNumber("LastUpdateToPayPerRequestDateTime"u8, ppr);
        w.WriteEndObject();
        if (!deleted)
        {
            w.WriteStartObject("TableClassSummary"u8);
            w.WriteString("TableClass"u8, d.TableClass);
            w.WriteEndObject();
        }

        w.WriteNumber("TableSizeBytes"u8, table.SizeBytes);
        w.WriteNumber("ItemCount"u8, table.ItemCount);
        w.WriteBoolean("DeletionProtectionEnabled"u8, d.DeletionProtectionEnabled);
        if (!deleted) SseSpecification.Write(w, d);
        if (!deleted) Serverless.Engine.Capacity.ThroughputSettings.Write(w, d, null);
        if (!deleted) WriteIndexes(w, table, d, deletingIndex);
        if (!deleted && d.StreamViewType != null)
        {
            w.WriteStartObject("StreamSpecification"u8);
            w.WriteBoolean("StreamEnabled"u8, true);
            w.WriteString("StreamViewType"u8, d.StreamViewType);
            w.WriteEndObject();
        }

        if (!deleted && d.Restore is { } restore)
        {
            w.WriteStartObject("RestoreSummary"u8);
            w.WriteString("SourceTableArn"u8, restore.SourceTableArn);
            if (restore.SourceBackupArn != null) w.WriteString("SourceBackupArn"u8, restore.SourceBackupArn);
            w.WriteNumber("RestoreDateTime"u8, restore.RestoreDateTime);
            w.WriteBoolean("RestoreInProgress"u8, restore.InProgress);
            w.WriteEndObject();
        }

        if (!deleted) ReplicaUpdates.WriteDescription(w, d);
        if (!deleted && d.Streams is { Count: > 0 } streams)
        {
            w.WriteString("LatestStreamLabel"u8, streams[^1].Label);
            w.WriteString("LatestStreamArn"u8, Streams.Arn(d, streams[^1]));
        }
        w.WriteEndObject();
    }

    private static void WriteIndexes(Utf8JsonWriter w, TableState table, TableDefinition d, IndexDefinition? deletingIndex)
    {
        var indexes = table.Indexes;
        for (var pass = 0; pass < 2; pass++)
        {
            var global = pass == 1;
            var any = indexes.Any(i => i.Definition.Global == global) || deletingIndex?.Global == global;
            if (!any) continue;
            w.WriteStartArray(global ? "GlobalSecondaryIndexes"u8 : "LocalSecondaryIndexes"u8);
            foreach (var index in indexes)
            {
                if (index.Definition.Global == global) WriteIndex(w, d, index.Definition, index.Definition.Status, index.SizeBytes, index.ItemCount);
            }

            if (deletingIndex?.Global == global) WriteIndex(w, d, deletingIndex, IndexStatus.Deleting, 0, 0);
            w.WriteEndArray();
        }
    }

    private static void WriteIndex(Utf8JsonWriter w, TableDefinition table, IndexDefinition index, string status, long sizeBytes, long itemCount)
    {
        w.WriteStartObject();
        w.WriteString("IndexName"u8, index.Name);
        w.WriteStartArray("KeySchema"u8);
        foreach (var k in index.HashKeys) WriteKey(w, k.Name, "HASH");
        foreach (var k in index.RangeKeys) WriteKey(w, k.Name, "RANGE");
        w.WriteEndArray();
        w.WriteStartObject("Projection"u8);
        w.WriteString("ProjectionType"u8, index.ProjectionType);
        if (index.NonKeyAttributes != null)
        {
            w.WriteStartArray("NonKeyAttributes"u8);
            foreach (var a in index.NonKeyAttributes) w.WriteStringValue(a);
            w.WriteEndArray();
        }

        w.WriteEndObject();
        if (index.Global)
        {
            w.WriteString("IndexStatus"u8, status);
            if (status == IndexStatus.Creating) w.WriteBoolean("Backfilling"u8, true);
            w.WriteStartObject("ProvisionedThroughput"u8);
            w.WriteNumber("NumberOfDecreasesToday"u8, 0);
            w.WriteNumber("ReadCapacityUnits"u8, table.BillingMode == BillingModes.PayPerRequest ? 0 : index.ReadCapacityUnits);
            w.WriteNumber("WriteCapacityUnits"u8, table.BillingMode == BillingModes.PayPerRequest ? 0 : index.WriteCapacityUnits);
            w.WriteEndObject();
            Serverless.Engine.Capacity.ThroughputSettings.Write(w, table, index, status == IndexStatus.Active ? IndexStatus.Active : "UPDATING");
        }

        w.WriteNumber("IndexSizeBytes"u8, sizeBytes);
        w.WriteNumber("ItemCount"u8, itemCount);
        w.WriteString("IndexArn"u8, table.Arn + "/index/" + index.Name);
        w.WriteEndObject();
    }

    /// <summary>A table's KeySchema member.</summary>
    public static void WriteKeySchema(Utf8JsonWriter w, TableDefinition d)
    {
        w.WriteStartArray("KeySchema"u8);
        WriteKey(w, d.HashKey.Name, "HASH");
        if (d.RangeKey != null) WriteKey(w, d.RangeKey.Name, "RANGE");
        w.WriteEndArray();
    }

    private static void WriteKey(Utf8JsonWriter w, string name, string type)
    {
        w.WriteStartObject();
        w.WriteString("AttributeName"u8, name);
        w.WriteString("KeyType"u8, type);
        w.WriteEndObject();
    }
}

internal static class BillingModes
{
    public const string Provisioned = "PROVISIONED";
    public const string PayPerRequest = "PAY_PER_REQUEST";
}

internal static class TableClasses
{
    public const string Standard = "STANDARD";
    public const string InfrequentAccess = "STANDARD_INFREQUENT_ACCESS";

    public static bool IsValid(string s) => s is Standard or InfrequentAccess;

    public const string InvalidMessage =
        "Invalid table-class parameter provided. Please try again with a valid table-class value: [STANDARD, STANDARD_INFREQUENT_ACCESS].";
}
