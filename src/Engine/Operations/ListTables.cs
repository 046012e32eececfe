using System.Text.Json;

namespace Serverless.Engine.Operations;

/// <summary>ListTables: names in ascending order, paged by Limit and ExclusiveStartTableName.</summary>
internal static class ListTables
{
    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var limit = Req.Long(req, "Limit", "Integer");
        var start = Req.String(req, "ExclusiveStartTableName");
        var errors = new ConstraintErrors();
        if (limit < 1) errors.Add("limit", limit.ToString(), "Member must have value greater than or equal to 1");
        if (limit > 100) errors.Add("limit", limit.ToString(), "Member must have value less than or equal to 100");
        errors.Name("exclusiveStartTableName", start, required: false);
        errors.ThrowIfAny();

        var names = ctx.Engine.Database.Tables.Select(t => t.Definition.Name).ToList();
        names.Sort(StringComparer.Ordinal);
        var max = (int)(limit ?? 100);
        var first = 0;
        if (start != null)
        {
            while (first < names.Count && string.CompareOrdinal(names[first], start) <= 0) first++;
        }

        w.WriteStartObject();
        w.WriteStartArray("TableNames"u8);
        var count = 0;
        for (var i = first; i < names.Count && count < max; i++, count++) w.WriteStringValue(names[i]);
        w.WriteEndArray();
        if (first + count < names.Count) w.WriteString("LastEvaluatedTableName"u8, names[first + count - 1]);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }
}
