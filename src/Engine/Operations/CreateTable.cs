using System.Text.Json;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>CreateTable: validates the schema as AWS does, then commits the definition to the catalog.</summary>
internal static class CreateTable
{
    /// <summary>Largest throughput AWS accepts in a request before its own account limits apply.</summary>
    private const long MaxThroughput = 1_000_000_000_000;

    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w) => ExecuteAsync(ctx, req, w, null);

    /// <param name="adjust">Changes the definition before it is committed (ImportTable marks its table as loading).</param>
    internal static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w, Action<TableDefinition>? adjust)
    {
        var name = Req.String(req, "TableName");
        var attributeDefs = Req.List(req, "AttributeDefinitions");
        var keySchema = Req.List(req, "KeySchema");
        var billingMode = Req.String(req, "BillingMode");
        var throughput = Req.Object(req, "ProvisionedThroughput");
        var tableClass = Req.String(req, "TableClass");
        var deletionProtection = Req.Bool(req, "DeletionProtectionEnabled") ?? false;

        var errors = new ConstraintErrors();
        var attributes = ReadAttributeDefinitions(attributeDefs, errors);
        var keys = KeySchemaReader.Read(keySchema, "keySchema", errors);
        errors.Name("tableName", name);
        errors.NotNull("attributeDefinitions", attributeDefs);
        errors.Enum("billingMode", billingMode, "PROVISIONED, PAY_PER_REQUEST", BillingModes.Provisioned, BillingModes.PayPerRequest);
        var (rcu, wcu) = ThroughputRules.Read(throughput, errors, "provisionedThroughput");
        var stream = StreamSettings.Read(req, errors);
        var locals = IndexSchema.ReadList(Req.List(req, "LocalSecondaryIndexes"), "localSecondaryIndexes", global: false, errors);
        var globals = IndexSchema.ReadList(Req.List(req, "GlobalSecondaryIndexes"), "globalSecondaryIndexes", global: true, errors);
        var (_, sseRequest) = SseSpecification.Read(req, errors);

        errors.ThrowIfAny();

        if (rcu > MaxThroughput) throw DynamoErrors.Validation($"Given value {rcu} for ReadCapacityUnits is out of bounds");
        if (wcu > MaxThroughput) throw DynamoErrors.Validation($"Given value {wcu} for WriteCapacityUnits is out of bounds");

        var (hash, range) = KeySchemaReader.Resolve(keys!, attributes!);
        var mode = billingMode ?? BillingModes.Provisioned;
        List<IndexRequest> indexes = [];
        if (locals == null && globals == null) KeySchemaReader.CheckAllDefinitionsUsed(attributes!, hash, range);
        else
        {
            indexes = IndexSchema.Check(locals, globals, attributes!, hash, range, mode, []);
            IndexSchema.CheckDefinitionsUsed(attributes!, hash, range, indexes);
        }

        if (mode == BillingModes.PayPerRequest && throughput != null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST");
        if (mode == BillingModes.Provisioned && throughput == null)
            throw DynamoErrors.Validation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED");
        if (tableClass != null && !TableClasses.IsValid(tableClass)) throw DynamoErrors.Validation(TableClasses.InvalidMessage);
        if (stream is { } s) StreamSettings.Check(ctx, s, name!, null);
        var throughputSettings = Serverless.Engine.Capacity.ThroughputSettings.ReadCreate(req, mode, rcu, wcu);
        var sse = SseSpecification.Resolve(ctx, sseRequest);
        var tags = TagRules.Read(Req.List(req, "Tags"), required: false);
        var policy = Req.String(req, "ResourcePolicy") is { } text ? ResourcePolicies.Validate(ctx, text, stream: false).Minified : null;

        var engine = ctx.Engine;
        var now = engine.NowSeconds();
        var table = await engine.Database.CreateTableAsync(name!, nextNumber => WithStream(new TableDefinition
        {
            Name = name!,
            TableNumber = nextNumber(),
            TableId = Guid.NewGuid().ToString(),
            Region = ctx.Region,
            AccountId = engine.Options.AccountId,
            HashKey = hash,
            RangeKey = range,
            AttributeDefinitions = indexes.Count == 0 ? (range == null ? [hash] : [hash, range]) : attributes!,
            BillingMode = mode,
            ReadCapacityUnits = mode == BillingModes.PayPerRequest ? 0 : rcu!.Value,
            WriteCapacityUnits = mode == BillingModes.PayPerRequest ? 0 : wcu!.Value,
            LastUpdateToPayPerRequestDateTime = mode == BillingModes.PayPerRequest ? now : null,
            TableClass = tableClass ?? TableClasses.Standard,
            DeletionProtectionEnabled = deletionProtection,
            Sse = sse,
            CreationDateTime = now,
            Tags = tags ?? new Dictionary<string, string>(StringComparer.Ordinal),
            Indexes = indexes.Count == 0 ? null
                : [.. indexes.Select(i => IndexSchema.Build(i, attributes!, nextNumber(), mode, IndexStatus.Active))],
            ResourcePolicy = policy == null ? null : new ResourcePolicyDefinition { Document = policy, RevisionId = ResourcePolicies.NextRevision(ctx, null) },
        })).ConfigureAwait(false);

        w.WriteStartObject();
        w.WritePropertyName("TableDescription"u8);
        TableDescriptionWriter.Write(w, table, "CREATING");
        w.WriteEndObject();

        TableDefinition WithStream(TableDefinition d)
        {
            if (stream is { Enabled: true } s) StreamSettings.Apply(d, s, engine.Database.NextLsn, now);
            adjust?.Invoke(d);
            throughputSettings.Apply(d);
            return d;
        }
    }

    public static List<KeyAttribute>? ReadAttributeDefinitions(JsonElement? list, ConstraintErrors errors)
    {
        if (list is not { } defs) return null;
        var result = new List<KeyAttribute>();
        var i = 0;
        foreach (var e in defs.EnumerateArray())
        {
            i++;
            Req.RequireObject(e, "AttributeDefinition");
            var n = Req.String(e, "AttributeName");
            var t = Req.String(e, "AttributeType");
            errors.NotNull($"attributeDefinitions.{i}.member.attributeName", n);
            if (n != null && n.Length > 255) errors.Add($"attributeDefinitions.{i}.member.attributeName", n, "Member must have length less than or equal to 255");
            errors.NotNull($"attributeDefinitions.{i}.member.attributeType", t);
            errors.Enum($"attributeDefinitions.{i}.member.attributeType", t, "B, N, S", "B", "N", "S");
            if (n != null && t != null) result.Add(new KeyAttribute(n, t));
        }

        return result;
    }
}

/// <summary>Reads and checks key schemas (tables now, indexes later) with AWS's messages.</summary>
internal static class KeySchemaReader
{
    /// <summary>Reads a KeySchema; a global index's may hold more than two elements (multi-attribute keys).</summary>
    public static List<(string? Name, string? Type)>? Read(JsonElement? list, string path, ConstraintErrors errors, int maxElements = 2)
    {
        if (list is not { } schema)
        {
            errors.NotNull(path, null);
            return null;
        }

        var result = new List<(string?, string?)>();
        var i = 0;
        foreach (var e in schema.EnumerateArray())
        {
            i++;
            Req.RequireObject(e, "KeySchemaElement");
            var n = Req.String(e, "AttributeName");
            var t = Req.String(e, "KeyType");
            errors.NotNull($"{path}.{i}.member.attributeName", n);
            if (n != null && n.Length > 255) errors.Add($"{path}.{i}.member.attributeName", n, "Member must have length less than or equal to 255");
            errors.NotNull($"{path}.{i}.member.keyType", t);
            errors.Enum($"{path}.{i}.member.keyType", t, "HASH, RANGE", "HASH", "RANGE");
            result.Add((n, t));
        }

        if (result.Count == 0) errors.Add(path, "[]", "Member must have length greater than or equal to 1");
        if (result.Count > maxElements)
            errors.Add(path, "[" + string.Join(", ", result.Select(k => $"KeySchemaElement(attributeName={k.Item1}, keyType={k.Item2})")) + "]",
                "Member must have length less than or equal to 2");
        return result;
    }

    /// <summary>Checks the key schema against the attribute definitions; returns the typed key attributes.</summary>
    public static (KeyAttribute Hash, KeyAttribute? Range) Resolve(List<(string? Name, string? Type)> keys, List<KeyAttribute> definitions)
    {
        KeyAttribute? Find(string name) => definitions.FirstOrDefault(d => d.Name == name);
        var duplicate = definitions.GroupBy(d => d.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw DynamoErrors.Validation($"Attribute Name is duplicated: {duplicate.Key}");
        if (keys.Count == 2)
        {
            if (keys[0].Name == keys[1].Name)
                throw DynamoErrors.Validation("Both the Hash Key and the Range Key element in the KeySchema have the same name");
            if (Find(keys[0].Name!) == null || Find(keys[1].Name!) == null)
                throw DynamoErrors.Validation("Invalid KeySchema: Some index key attribute have no definition");
        }
        else if (Find(keys[0].Name!) == null)
        {
            throw DynamoErrors.Validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: ["
                + string.Join(", ", keys.Select(k => k.Name)) + "], AttributeDefinitions: [" + string.Join(", ", definitions.Select(d => d.Name)) + "]");
        }

        if (keys[0].Type != "HASH") throw DynamoErrors.Validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type");
        if (keys.Count == 2 && keys[1].Type != "RANGE") throw DynamoErrors.Validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type");
        return (Find(keys[0].Name!)!, keys.Count == 2 ? Find(keys[1].Name!) : null);
    }

    public static void CheckAllDefinitionsUsed(List<KeyAttribute> definitions, KeyAttribute hash, KeyAttribute? range)
    {
        var used = range == null ? 1 : 2;
        if (definitions.Count != used)
            throw DynamoErrors.Validation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions");
    }
}

internal static class ThroughputRules
{
    /// <summary>Reads a ProvisionedThroughput structure (absent → nulls) and checks both units are present and positive.</summary>
    public static (long? Read, long? Write) Read(JsonElement? throughput, ConstraintErrors errors, string path)
    {
        if (throughput is not { } pt) return (null, null);
        var rcu = Req.Long(pt, "ReadCapacityUnits");
        var wcu = Req.Long(pt, "WriteCapacityUnits");
        CheckPresentAndPositive(errors, path, rcu, wcu);
        return (rcu, wcu);
    }

    public static void CheckPresentAndPositive(ConstraintErrors errors, string path, long? rcu, long? wcu)
    {
        errors.NotNull(path + ".readCapacityUnits", rcu);
        if (rcu < 1) errors.Add(path + ".readCapacityUnits", rcu.ToString(), "Member must have value greater than or equal to 1");
        errors.NotNull(path + ".writeCapacityUnits", wcu);
        if (wcu < 1) errors.Add(path + ".writeCapacityUnits", wcu.ToString(), "Member must have value greater than or equal to 1");
    }
}
