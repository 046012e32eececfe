using System.Text.Json;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>Writes DynamoDB's TableDescription for a table, in the shapes CreateTable, DescribeTable and DeleteTable use.</summary>
internal static class TableDescriptionWriter
{
    public static void Write(Utf8JsonWriter w, TableState table, string status, bool deleted = false)
    {
        var d = table.Definition;
        w.WriteStartObject();
        w.WriteString("TableName"u8, d.Name);
        w.WriteString("TableStatus"u8, status);
        w.WriteString("TableId"u8, d.TableId);
        w.WriteString("TableArn"u8, d.Arn);
        if (!deleted)
        {
            w.WriteNumber("CreationDateTime"u8, d.CreationDateTime);
            w.WriteStartArray("KeySchema"u8);
            WriteKey(w, d.HashKey.Name, "HASH");
            if (d.RangeKey != null) WriteKey(w, d.RangeKey.Name, "RANGE");
            w.WriteEndArray();
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
        w.WriteEndObject();
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
