using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>A secondary index as a request declares it, after the constraint checks.</summary>
internal sealed record IndexRequest(
    string Name, bool Global, List<(string? Name, string? Type)> KeySchema, string? ProjectionType, List<string>? NonKeyAttributes,
    bool HasThroughput, long? ReadCapacityUnits, long? WriteCapacityUnits);

/// <summary>
/// Reads and checks secondary index declarations (CreateTable's LocalSecondaryIndexes and GlobalSecondaryIndexes,
/// UpdateTable's Create), with AWS's messages, and turns them into index definitions.
/// </summary>
internal static class IndexSchema
{
    public const int MaxLocalIndexes = 5;
    public const int MaxGlobalIndexes = 20;

    /// <summary>A global index's key: up to four partition and four sort attributes (multi-attribute keys).</summary>
    public const int MaxKeyAttributesPerRole = 4;

    /// <summary>Reads one list of index declarations; <paramref name="path"/> is its constraint path (e.g. globalSecondaryIndexes).</summary>
    public static List<IndexRequest>? ReadList(JsonElement? list, string path, bool global, ConstraintErrors errors)
    {
        if (list is not { } items) return null;
        var result = new List<IndexRequest>();
        var i = 0;
        foreach (var e in items.EnumerateArray())
        {
            i++;
            Req.RequireObject(e, global ? "GlobalSecondaryIndex" : "LocalSecondaryIndex");
            if (Read(e, $"{path}.{i}.member", global, errors) is { } index) result.Add(index);
        }

        return result;
    }

    /// <summary>The longest name NonKeyAttributes may hold (the API's constraint on each member).</summary>
    private const int MaxNonKeyNameLength = 255;

    /// <summary>Reads one index declaration at constraint path <paramref name="path"/>.</summary>
    public static IndexRequest? Read(JsonElement e, string path, bool global, ConstraintErrors errors)
    {
        var name = Req.String(e, "IndexName");
        var keys = KeySchemaReader.Read(Req.List(e, "KeySchema"), path + ".keySchema", errors, global ? int.MaxValue : 2);
        var projection = Req.Object(e, "Projection");
        errors.NotNull(path + ".projection", projection);
        string? projectionType = null;
        List<string>? nonKey = null;
        if (projection is { } p)
        {
            projectionType = Req.String(p, "ProjectionType");
            errors.Enum(path + ".projection.projectionType", projectionType, "ALL, INCLUDE, KEYS_ONLY", "ALL", "INCLUDE", "KEYS_ONLY");
            nonKey = Req.StringList(p, "NonKeyAttributes");
            if (nonKey is { Count: 0 }) errors.Add(path + ".projection.nonKeyAttributes", "[]", "Member must have length greater than or equal to 1");
            if (nonKey is { Count: > 20 })
                errors.Add(path + ".projection.nonKeyAttributes", "[" + string.Join(", ", nonKey) + "]", "Member must have length less than or equal to 20");
            else if (nonKey != null && nonKey.Exists(n => n.Length is 0 or > MaxNonKeyNameLength))
                errors.Add(path + ".projection.nonKeyAttributes", "[" + string.Join(", ", nonKey) + "]",
                    $"Member must satisfy constraint: [Member must have length less than or equal to {MaxNonKeyNameLength}, Member must have length greater than or equal to 1]");
        }

        var throughput = global ? Req.Object(e, "ProvisionedThroughput") : null;
        var (rcu, wcu) = ThroughputRules.Read(throughput, errors, path + ".provisionedThroughput");
        errors.Name(path + ".indexName", name);
        return name == null || keys == null ? null : new IndexRequest(name, global, keys, projectionType, nonKey, throughput != null, rcu, wcu);
    }

    /// <summary>
    /// Checks index declarations against the table's key schema and attribute definitions, in AWS's order; returns
    /// them all, local ones first. <paramref name="existingNames"/> are names already taken on the table.
    /// </summary>
    public static List<IndexRequest> Check(
        List<IndexRequest>? locals, List<IndexRequest>? globals, List<KeyAttribute> definitions, KeyAttribute hash, KeyAttribute? range,
        string billingMode, IEnumerable<string> existingNames)
    {
        var names = new HashSet<string>(existingNames, StringComparer.Ordinal);
        var all = new List<IndexRequest>();
        if (locals != null)
        {
            if (locals.Count == 0) throw DynamoErrors.Validation("One or more parameter values were invalid: List of LocalSecondaryIndexes is empty");
            if (range == null)
                throw DynamoErrors.Validation("One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex");
            foreach (var index in locals)
            {
                CheckKeys(index, definitions);
                if (index.KeySchema.Count != 2)
                    throw DynamoErrors.Validation("One or more parameter values were invalid: Index KeySchema does not have a range key for index: " + index.Name);
                if (index.KeySchema[0].Name != hash.Name)
                    throw DynamoErrors.Validation("One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: "
                        + $"{index.Name}. index hash key: {index.KeySchema[0].Name}, table hash key: {hash.Name}");
                CheckProjection(index, names);
                all.Add(index);
            }

            if (locals.Count > MaxLocalIndexes)
                throw DynamoErrors.Validation($"One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of {MaxLocalIndexes}");
        }

        if (globals != null)
        {
            if (globals.Count == 0) throw DynamoErrors.Validation("One or more parameter values were invalid: List of GlobalSecondaryIndexes is empty");
            foreach (var index in globals)
            {
                CheckKeys(index, definitions);
                CheckProjection(index, names);
                CheckThroughput(index, billingMode);
                all.Add(index);
            }

            if (globals.Count > MaxGlobalIndexes)
                throw DynamoErrors.Validation($"One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of {MaxGlobalIndexes}");
        }

        return all;
    }

    /// <summary>Checks that every attribute definition is a key of the table or of one of its indexes.</summary>
    public static void CheckDefinitionsUsed(List<KeyAttribute> definitions, KeyAttribute hash, KeyAttribute? range, IEnumerable<IndexRequest> indexes)
    {
        var used = new List<string> { hash.Name };
        if (range != null) used.Add(range.Name);
        foreach (var index in indexes)
        {
            foreach (var k in index.KeySchema)
            {
                if (k.Name != null && !used.Contains(k.Name)) used.Add(k.Name);
            }
        }

        if (definitions.Any(d => !used.Contains(d.Name)))
            throw DynamoErrors.Validation("One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: ["
                + string.Join(", ", definitions.Select(d => d.Name)) + "], keys used: [" + string.Join(", ", used) + "]");
    }

    public static IndexDefinition Build(IndexRequest index, List<KeyAttribute> definitions, uint number, string billingMode, string status)
    {
        KeyAttribute Find(string name) => definitions.First(d => d.Name == name);
        var provisioned = index.Global && billingMode == BillingModes.Provisioned;
        var hashKeys = new List<KeyAttribute>();
        var rangeKeys = new List<KeyAttribute>();
        foreach (var k in index.KeySchema) (k.Type == "HASH" ? hashKeys : rangeKeys).Add(Find(k.Name!));
        return new IndexDefinition
        {
            Name = index.Name,
            Number = number,
            Global = index.Global,
            HashKey = hashKeys[0],
            RangeKey = rangeKeys.Count > 0 ? rangeKeys[0] : null,
            ExtraHashKeys = hashKeys.Count > 1 ? hashKeys[1..] : null,
            ExtraRangeKeys = rangeKeys.Count > 1 ? rangeKeys[1..] : null,
            ProjectionType = index.ProjectionType!,
            NonKeyAttributes = index.NonKeyAttributes,
            Status = status,
            ReadCapacityUnits = provisioned ? index.ReadCapacityUnits ?? 0 : 0,
            WriteCapacityUnits = provisioned ? index.WriteCapacityUnits ?? 0 : 0,
        };
    }

    private static void CheckKeys(IndexRequest index, List<KeyAttribute> definitions)
    {
        var keys = index.KeySchema;
        if (keys.Any(k => definitions.All(d => d.Name != k.Name)))
            throw DynamoErrors.Validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: ["
                + string.Join(", ", keys.Select(k => k.Name)) + "], AttributeDefinitions: [" + string.Join(", ", definitions.Select(d => d.Name)) + "]");
        if (keys.Count == 2 && keys[0].Name == keys[1].Name)
            throw DynamoErrors.Validation("Both the Hash Key and the Range Key element in the KeySchema have the same name");
        if (keys[0].Type != "HASH") throw DynamoErrors.Validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
        if (index.Global) CheckMultiAttributeKeys(index);
        else if (keys.Count == 2 && keys[1].Type != "RANGE") throw DynamoErrors.Validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
    }

    /// <summary>
    /// A global index's KeySchema: one to four HASH elements, then up to four RANGE elements, each attribute once.
    /// The messages follow AWS's wording for the classic checks; AWS's own texts for these were not found.
    /// </summary>
    private static void CheckMultiAttributeKeys(IndexRequest index)
    {
        var keys = index.KeySchema;
        int hashes = 0, ranges = 0;
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i].Type == "HASH")
            {
                if (ranges > 0)
                    throw DynamoErrors.Validation("Invalid KeySchema: HASH KeySchemaElements must precede RANGE KeySchemaElements for index: " + index.Name);
                hashes++;
            }
            else ranges++;

            for (var j = 0; j < i; j++)
            {
                if (keys[j].Name == keys[i].Name)
                    throw DynamoErrors.Validation("Invalid KeySchema: Duplicate attribute name in KeySchema: " + keys[i].Name);
            }
        }

        if (hashes > MaxKeyAttributesPerRole)
            throw DynamoErrors.Validation($"Invalid KeySchema: Number of HASH KeySchemaElements exceeds the limit of {MaxKeyAttributesPerRole} for index: {index.Name}");
        if (ranges > MaxKeyAttributesPerRole)
            throw DynamoErrors.Validation($"Invalid KeySchema: Number of RANGE KeySchemaElements exceeds the limit of {MaxKeyAttributesPerRole} for index: {index.Name}");
    }

    private static void CheckProjection(IndexRequest index, HashSet<string> names)
    {
        if (index.ProjectionType == null) throw DynamoErrors.Validation("One or more parameter values were invalid: Unknown ProjectionType: null");
        if (index.NonKeyAttributes != null && index.ProjectionType != "INCLUDE")
            throw DynamoErrors.Validation($"One or more parameter values were invalid: ProjectionType is {index.ProjectionType}, but NonKeyAttributes is specified");
        if (!names.Add(index.Name)) throw DynamoErrors.Validation("One or more parameter values were invalid: Duplicate index name: " + index.Name);
    }

    private static void CheckThroughput(IndexRequest index, string billingMode)
    {
        if (billingMode == BillingModes.Provisioned && !index.HasThroughput)
            throw DynamoErrors.Validation("One or more parameter values were invalid: ProvisionedThroughput must be specified for index: " + index.Name);
        if (billingMode == BillingModes.PayPerRequest && index.HasThroughput)
            throw DynamoErrors.Validation($"One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: {index.Name} when BillingMode is PAY_PER_REQUEST");
    }
}

/// <summary>The ItemCollectionMetrics member writes return for tables with local secondary indexes.</summary>
internal static class CollectionMetrics
{
    private const double BytesPerGb = 1024.0 * 1024 * 1024;

    /// <summary>Writes nothing when <paramref name="collectionBytes"/> is negative (the table has no local index).</summary>
    public static void Write(Utf8JsonWriter w, TableDefinition table, AttrValue hash, long collectionBytes)
    {
        if (collectionBytes < 0) return;
        w.WriteStartObject("ItemCollectionMetrics"u8);
        WriteMembers(w, table, hash, collectionBytes);
        w.WriteEndObject();
    }

    /// <summary>The members of one ItemCollectionMetrics object: ItemCollectionKey and SizeEstimateRangeGB.</summary>
    public static void WriteMembers(Utf8JsonWriter w, TableDefinition table, AttrValue hash, long collectionBytes)
    {
        w.WriteStartObject("ItemCollectionKey"u8);
        w.WritePropertyName(table.HashKey.Name);
        AttrJson.WriteValue(w, hash);
        w.WriteEndObject();

        // An estimate as AWS gives it: a range of whole gigabytes around the collection's size.
        var lower = Math.Floor(collectionBytes / BytesPerGb);
        w.WriteStartArray("SizeEstimateRangeGB"u8);
        w.WriteNumberValue(lower);
        w.WriteNumberValue(lower + 1);
        w.WriteEndArray();
    }
}
