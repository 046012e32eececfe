using System.Text;
using System.Text.Json;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>TagResource: adds or replaces tags on a table. AWS answers with an empty body.</summary>
internal static class TagResource
{
    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "ResourceArn");
        var tagList = Req.List(req, "Tags");
        var errors = new ConstraintErrors();
        errors.NotNull("resourceArn", arn);
        errors.NotNull("tags", tagList);
        errors.ThrowIfAny();
        var tags = TagRules.Read(tagList, required: true)!;
        var table = TagRules.FindTable(ctx, arn!);
        var merged = new Dictionary<string, string>(table.Definition.Tags, StringComparer.Ordinal);
        foreach (var (k, v) in tags) merged[k] = v;
        if (merged.Count > TagRules.MaxTags) throw DynamoErrors.Validation("Number of Tags exceed the current limit for the provided ResourceArn");
        await ctx.Engine.Database.UpdateTableAsync(table, d => d.Tags = merged).ConfigureAwait(false);
    }
}

/// <summary>UntagResource: removes tags by key. AWS answers with an empty body.</summary>
internal static class UntagResource
{
    public static async ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "ResourceArn");
        var keys = Req.StringList(req, "TagKeys");
        var errors = new ConstraintErrors();
        errors.NotNull("resourceArn", arn);
        errors.NotNull("tagKeys", keys);
        errors.ThrowIfAny();
        if (keys!.Count == 0) throw DynamoErrors.Validation("Atleast one Tag Key needs to be provided as Input.");
        var table = TagRules.FindTable(ctx, arn!);
        var remaining = new Dictionary<string, string>(table.Definition.Tags, StringComparer.Ordinal);
        foreach (var k in keys) remaining.Remove(k);
        await ctx.Engine.Database.UpdateTableAsync(table, d => d.Tags = remaining).ConfigureAwait(false);
    }
}

/// <summary>ListTagsOfResource: all tags of a table in one page.</summary>
internal static class ListTagsOfResource
{
    public static ValueTask ExecuteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "ResourceArn");
        var errors = new ConstraintErrors();
        errors.NotNull("resourceArn", arn);
        errors.ThrowIfAny();
        var table = TagRules.FindTable(ctx, arn!);
        w.WriteStartObject();
        w.WriteStartArray("Tags"u8);
        foreach (var (k, v) in table.Definition.Tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("Key"u8, k);
            w.WriteString("Value"u8, v);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }
}

internal static class TagRules
{
    public const int MaxTags = 50;

    public static Dictionary<string, string>? Read(JsonElement? list, bool required)
    {
        if (list is not { } tags) return null;
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in tags.EnumerateArray())
        {
            Req.RequireObject(e, "Tag");
            var key = Req.String(e, "Key");
            var value = Req.String(e, "Value");
            if (key is null || key.Length is < 1 or > 128 || !IsValidTagText(key)) throw DynamoErrors.Validation($"The Tag Key provided is invalid, Key: {key ?? "null"}");
            if (value is null || value.Length > 256 || !IsValidTagText(value)) throw DynamoErrors.Validation($"The Tag Value provided is invalid, Value: {value ?? "null"}");
            if (key.StartsWith("aws:", StringComparison.Ordinal)) throw DynamoErrors.Validation($"Tag Key cannot be prefixed with aws:, Key: {key}");
            if (!result.TryAdd(key, value)) throw DynamoErrors.Validation($"Duplicate Tag Keys provided as input: Duplicate Tag Key found {key}");
        }

        if (required && result.Count == 0) throw DynamoErrors.Validation("Atleast one Tag needs to be provided as Input.");
        if (result.Count > MaxTags) throw DynamoErrors.Validation("Number of Tags exceed the current limit for the provided ResourceArn");
        return result;
    }

    /// <summary>Resolves <c>arn:aws:dynamodb:region:account:table/name</c> to a table of this engine.</summary>
    public static TableState FindTable(OperationContext ctx, string arn)
    {
        if (!arn.StartsWith("arn:", StringComparison.Ordinal))
            throw DynamoErrors.Validation($"One or more parameter values were invalid: ARNs must start with 'arn:': {arn}");
        var parts = arn.Split(':', 6);
        if (parts.Length != 6 || parts[2] != "dynamodb" || !parts[5].StartsWith("table/", StringComparison.Ordinal))
            throw DynamoErrors.Validation($"One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: {arn}");
        var resource = parts[5]["table/".Length..];
        if (resource.Contains('/'))
            throw DynamoErrors.Validation($"One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {arn}");
        var table = ctx.Engine.Database.FindTable(resource);
        if (table == null || table.Definition.Region != parts[3] || table.Definition.AccountId != parts[4])
            throw DynamoErrors.TableNotFound();
        return table;
    }

    private static bool IsValidTagText(string s)
    {
        // AWS allows Unicode letters, digits, white space and _ . : / = + - @
        foreach (var rune in s.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune) || Rune.IsWhiteSpace(rune)) continue;
            if (rune.Value is '_' or '.' or ':' or '/' or '=' or '+' or '-' or '@') continue;
            return false;
        }

        return true;
    }
}
