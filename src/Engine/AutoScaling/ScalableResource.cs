using System.Globalization;
using System.Text.Json;
using Serverless.Engine.Storage;

namespace Serverless.Engine.AutoScaling;

/// <summary>
/// A DynamoDB scalable resource named by ServiceNamespace, ResourceId (<c>table/T</c> or <c>table/T/index/I</c>) and
/// ScalableDimension, checked for consistency as Application Auto Scaling checks it.
/// </summary>
internal readonly record struct ScalableResource(string Namespace, string ResourceId, string Dimension, string Table, string? Index)
{
    public const string DynamoDb = "dynamodb";

    public const string TableRead = "dynamodb:table:ReadCapacityUnits";
    public const string TableWrite = "dynamodb:table:WriteCapacityUnits";
    public const string IndexRead = "dynamodb:index:ReadCapacityUnits";
    public const string IndexWrite = "dynamodb:index:WriteCapacityUnits";

    /// <summary>Application Auto Scaling's namespaces (the enum its validator names in messages).</summary>
    public const string Namespaces =
        "ecs, elasticmapreduce, ec2, appstream, dynamodb, rds, sagemaker, custom-resource, comprehend, lambda, cassandra, kafka, elasticache, neptune, workspaces";

    public bool IsRead => Dimension.EndsWith(":ReadCapacityUnits", StringComparison.Ordinal);

    /// <summary>"read capacity units" or "write capacity units", as activity messages spell them.</summary>
    public string Units => IsRead ? "read capacity units" : "write capacity units";

    public static string ResourceIdOf(string table, string? index) => index == null ? "table/" + table : $"table/{table}/index/{index}";

    /// <summary>Reads and checks the three members every target-scoped request carries.</summary>
    public static ScalableResource Read(JsonElement req)
    {
        var ns = AutoScalingRequest.String(req, "ServiceNamespace");
        var resourceId = AutoScalingRequest.String(req, "ResourceId");
        var dimension = AutoScalingRequest.String(req, "ScalableDimension");
        var failures = new List<string>();
        if (ns == null) failures.Add(AutoScalingErrors.NullFailure("serviceNamespace"));
        else CheckNamespace(ns, failures);
        if (resourceId == null) failures.Add(AutoScalingErrors.NullFailure("resourceId"));
        if (dimension == null) failures.Add(AutoScalingErrors.NullFailure("scalableDimension"));
        if (failures.Count > 0) throw AutoScalingErrors.Constraints(failures);
        return Parse(ns!, resourceId!, dimension!) ?? throw AutoScalingErrors.UnsupportedResource();
    }

    public static void CheckNamespace(string ns, List<string> failures)
    {
        if (Array.IndexOf(Namespaces.Split(", "), ns) < 0) failures.Add(AutoScalingErrors.EnumFailure("serviceNamespace", ns, Namespaces));
    }

    /// <summary>The resource, or null when namespace, resource type and dimension do not fit together.</summary>
    public static ScalableResource? Parse(string ns, string resourceId, string dimension)
    {
        if (ns != DynamoDb) return null;
        var parts = resourceId.Split('/');
        if (parts.Length == 2 && parts[0] == "table" && parts[1].Length > 0 && dimension is TableRead or TableWrite)
            return new ScalableResource(ns, resourceId, dimension, parts[1], null);
        if (parts.Length == 4 && parts[0] == "table" && parts[1].Length > 0 && parts[2] == "index" && parts[3].Length > 0 && dimension is IndexRead or IndexWrite)
            return new ScalableResource(ns, resourceId, dimension, parts[1], parts[3]);
        return null;
    }

    /// <summary>The table, which must exist and be provisioned, and (for an index) the global index, which must exist.</summary>
    public TableState RequireTable(DynamoEngine engine)
    {
        var table = engine.Database.FindTable(Table) ?? throw AutoScalingErrors.ResourceMissing(ResourceId);
        if (Index != null && table.Definition.FindIndex(Index) is not { Global: true }) throw AutoScalingErrors.ResourceMissing(ResourceId);
        return table;
    }

    /// <summary>The capacity this resource has now (table or index, read or write).</summary>
    public static long CurrentCapacity(TableDefinition table, string? index, bool read)
    {
        if (index != null && table.FindIndex(index) is { } i) return read ? i.ReadCapacityUnits : i.WriteCapacityUnits;
        return read ? table.ReadCapacityUnits : table.WriteCapacityUnits;
    }
}

/// <summary>Typed reads of Application Auto Scaling request members (a wrong JSON kind is a SerializationException).</summary>
internal static class AutoScalingRequest
{
    public static string? String(JsonElement req, string name) => req.TryGetProperty(name, out var v) ? v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Null => null,
        _ => throw AutoScalingErrors.WrongType(name, "string"),
    } : null;

    public static long? Long(JsonElement req, string name) => req.TryGetProperty(name, out var v) ? v.ValueKind switch
    {
        JsonValueKind.Number when v.TryGetInt64(out var n) => n,
        JsonValueKind.Null => null,
        _ => throw AutoScalingErrors.WrongType(name, "integer"),
    } : null;

    public static double? Double(JsonElement req, string name) => req.TryGetProperty(name, out var v) ? v.ValueKind switch
    {
        JsonValueKind.Number => v.GetDouble(),
        JsonValueKind.Null => null,
        _ => throw AutoScalingErrors.WrongType(name, "number"),
    } : null;

    public static bool? Bool(JsonElement req, string name) => req.TryGetProperty(name, out var v) ? v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        _ => throw AutoScalingErrors.WrongType(name, "boolean"),
    } : null;

    public static JsonElement? Object(JsonElement req, string name) => req.TryGetProperty(name, out var v) ? v.ValueKind switch
    {
        JsonValueKind.Object => v,
        JsonValueKind.Null => null,
        _ => throw AutoScalingErrors.WrongType(name, "structure"),
    } : null;

    public static List<string>? StringList(JsonElement req, string name)
    {
        if (!req.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array) throw AutoScalingErrors.WrongType(name, "list");
        var list = new List<string>();
        foreach (var e in v.EnumerateArray())
            list.Add(e.ValueKind == JsonValueKind.String ? e.GetString()! : throw AutoScalingErrors.WrongType(name, "list of strings"));
        return list;
    }

    /// <summary>
    /// Checks a Describe request's ServiceNamespace, MaxResults (1–50, default 50) and NextToken (an offset this API
    /// issued), then writes one page of what <paramref name="collect"/> finds (nothing outside the dynamodb namespace).
    /// </summary>
    public static void WritePage<T>(JsonElement req, Utf8JsonWriter w, ReadOnlySpan<byte> member, Func<List<T>> collect, Action<Utf8JsonWriter, T> write)
    {
        const int Limit = 50;
        var ns = String(req, "ServiceNamespace");
        var failures = new List<string>();
        if (ns == null) failures.Add(AutoScalingErrors.NullFailure("serviceNamespace"));
        else ScalableResource.CheckNamespace(ns, failures);
        var requested = Long(req, "MaxResults");
        if (requested is < 1) failures.Add(AutoScalingErrors.MinimumFailure("maxResults", requested.Value, 1));
        if (failures.Count > 0) throw AutoScalingErrors.Constraints(failures);
        var offset = 0;
        if (String(req, "NextToken") is { } token && !int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out offset))
            throw AutoScalingErrors.InvalidNextToken();
        var max = (int)Math.Min(requested ?? Limit, Limit);

        var found = ns == ScalableResource.DynamoDb ? collect() : [];
        w.WriteStartObject();
        w.WriteStartArray(member);
        var count = 0;
        for (var i = offset; i < found.Count && count < max; i++, count++) write(w, found[i]);
        w.WriteEndArray();
        if (offset + count < found.Count) w.WriteString("NextToken"u8, (offset + count).ToString(CultureInfo.InvariantCulture));
        w.WriteEndObject();
    }
}
