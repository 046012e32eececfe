using System.Globalization;
using System.Text.Json;

namespace Serverless.Engine.Cache;

/// <summary>
/// The parameters of a DAX parameter group. AWS has two, <c>record-ttl-millis</c> (item cache) and
/// <c>query-ttl-millis</c> (query cache), both 300,000 ms by default, 0 or more. We add one:
/// <c>invalidate-on-table-writes</c> (<c>true</c> by default): every write to a table, from any path, invalidates
/// the cached items it changed and the table's cached queries. <c>false</c> is DAX's own behaviour: only writes sent
/// through the cluster update its item cache, and queries are only refreshed when their TTL runs out.
/// </summary>
internal static class DaxParameters
{
    public const string DefaultGroup = "default.dax1.0";
    public const string RecordTtl = "record-ttl-millis";
    public const string QueryTtl = "query-ttl-millis";
    public const string Invalidate = "invalidate-on-table-writes";

    public sealed record Definition(string Name, string Default, string Description, string DataType, string AllowedValues);

    public static readonly Definition[] All =
    [
        new(QueryTtl, "300000", "Duration in milliseconds for queries to remain cached", "integer", "0-"),
        new(RecordTtl, "300000", "Duration in milliseconds for records to remain valid in cache", "integer", "0-"),
        new(Invalidate, "true", "Whether every write to a table invalidates its cached items and queries (false: DAX's behaviour, only writes through the cluster update it)", "boolean", "true, false"),
    ];

    public static Definition? Find(string name) => Array.Find(All, d => d.Name == name);

    /// <summary>Refuses a value outside the parameter's allowed values.</summary>
    public static void Check(Definition definition, string value)
    {
        var ok = definition.DataType == "integer"
            ? long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            : value is "true" or "false";
        if (!ok) throw DaxErrors.InvalidParameterValueFor(definition.Name, value, definition.AllowedValues);
    }

    /// <summary>What a cluster does with its group's values.</summary>
    public static CacheSettings Settings(DaxParameterGroupRecord? group)
    {
        string Value(string name) => group != null && group.Values.TryGetValue(name, out var v) ? v : Find(name)!.Default;
        return new CacheSettings(
            long.Parse(Value(RecordTtl), CultureInfo.InvariantCulture),
            long.Parse(Value(QueryTtl), CultureInfo.InvariantCulture),
            Value(Invalidate) == "true");
    }

    /// <summary>DescribeParameters' Parameter shape.</summary>
    public static void Write(Utf8JsonWriter w, Definition d, string value)
    {
        w.WriteStartObject();
        w.WriteString("ParameterName"u8, d.Name);
        w.WriteString("ParameterType"u8, "DEFAULT"u8);
        w.WriteString("ParameterValue"u8, value);
        w.WriteStartArray("NodeTypeSpecificValues"u8);
        w.WriteEndArray();
        w.WriteString("Description"u8, d.Description);
        w.WriteString("Source"u8, "user"u8);
        w.WriteString("DataType"u8, d.DataType);
        w.WriteString("AllowedValues"u8, d.AllowedValues);
        w.WriteString("IsModifiable"u8, "TRUE"u8);
        w.WriteString("ChangeType"u8, "IMMEDIATE"u8);
        w.WriteEndObject();
    }
}

/// <summary>A cluster's effective cache settings. A TTL of 0 means entries expire only by eviction or invalidation.</summary>
internal sealed record CacheSettings(long RecordTtlMillis, long QueryTtlMillis, bool InvalidateOnTableWrites)
{
    public static readonly CacheSettings Default = DaxParameters.Settings(null);
}
