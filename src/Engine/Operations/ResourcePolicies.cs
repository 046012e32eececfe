using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Protocol;
using Serverless.Engine.Security.Authorization;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// PutResourcePolicy, GetResourcePolicy and DeleteResourcePolicy on table and stream ARNs. A table's policy and
/// each of its streams' policies are independent slots, each with its own RevisionId; they live in the catalog.
/// </summary>
internal static class ResourcePolicies
{
    /// <summary>AWS's limit on a resource policy, whitespace included.</summary>
    public const int MaxPolicyBytes = 20 * 1024;

    private const string NoPolicy = "NO_POLICY";

    /// <summary>The actions that apply to a stream; a table policy may not grant them, a stream policy grants only them.</summary>
    private static readonly HashSet<string> StreamActions = new(StringComparer.OrdinalIgnoreCase)
    {
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
    };

    private static readonly HashSet<string> PolicyActions = new(StringComparer.OrdinalIgnoreCase)
    {
        "dynamodb:PutResourcePolicy", "dynamodb:GetResourcePolicy", "dynamodb:DeleteResourcePolicy",
    };

    public static async ValueTask PutAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "ResourceArn");
        var policy = Req.String(req, "Policy");
        var expected = Req.String(req, "ExpectedRevisionId");
        var confirm = Req.Bool(req, "ConfirmRemoveSelfResourceAccess") ?? false;
        var errors = new ConstraintErrors();
        errors.NotNull("resourceArn", arn);
        errors.NotNull("policy", policy);
        errors.ThrowIfAny();
        var (table, label) = Resolve(ctx, arn!);
        var (document, minified) = Validate(ctx, policy!, stream: label != null);

        // The lockout guard: a policy that explicitly denies its author further PutResourcePolicy calls needs consent.
        if (!confirm && ctx.Caller is { } caller
            && ctx.Engine.Security.Authorizer.EvaluateResourcePolicy(document, caller, "dynamodb:PutResourcePolicy", arn!) == Decision.Deny)
            throw DynamoErrors.ResourcePolicyLockout();

        var current = Current(table.Definition, label);
        CheckExpected(expected, current, table.Definition.Name, arn!);
        var revision = current?.RevisionId;
        if (current == null || current.Document != minified)
        {
            var next = new ResourcePolicyDefinition { Document = minified, RevisionId = NextRevision(ctx, current) };
            await ctx.Engine.Database.UpdateTableAsync(table, d =>
            {
                CheckExpected(expected, Current(d, label), d.Name, arn!);
                Store(d, label, next);
            }).ConfigureAwait(false);
            revision = next.RevisionId;
        }

        w.WriteStartObject();
        w.WriteString("RevisionId"u8, revision);
        w.WriteEndObject();
    }

    public static ValueTask GetAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "ResourceArn");
        var errors = new ConstraintErrors();
        errors.NotNull("resourceArn", arn);
        errors.ThrowIfAny();
        var (table, label) = Resolve(ctx, arn!);
        var current = Current(table.Definition, label) ?? throw DynamoErrors.PolicyNotFound(arn!);
        w.WriteStartObject();
        w.WriteString("Policy"u8, current.Document);
        w.WriteString("RevisionId"u8, current.RevisionId);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static async ValueTask DeleteAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var arn = Req.String(req, "ResourceArn");
        var expected = Req.String(req, "ExpectedRevisionId");
        var errors = new ConstraintErrors();
        errors.NotNull("resourceArn", arn);
        errors.ThrowIfAny();
        var (table, label) = Resolve(ctx, arn!);
        var current = Current(table.Definition, label);
        w.WriteStartObject();
        if (current == null)
        {
            // Idempotent without an expected revision; with one, there is nothing it can match.
            if (expected != null) throw DynamoErrors.PolicyNotFound(arn!);
        }
        else
        {
            CheckExpected(expected, current, table.Definition.Name, arn!);
            await ctx.Engine.Database.UpdateTableAsync(table, d =>
            {
                CheckExpected(expected, Current(d, label), d.Name, arn!);
                Store(d, label, null);
            }).ConfigureAwait(false);
            w.WriteString("RevisionId"u8, current.RevisionId);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// Checks a policy document as PutResourcePolicy (and CreateTable's ResourcePolicy) does; returns it parsed and
    /// minified, the form it is stored in and GetResourcePolicy returns.
    /// </summary>
    public static (PolicyDocument Document, string Minified) Validate(OperationContext ctx, string policy, bool stream)
    {
        if (Encoding.UTF8.GetByteCount(policy) > MaxPolicyBytes)
            throw DynamoErrors.Validation($"One or more parameter values were invalid: Maximum policy size of {MaxPolicyBytes} bytes exceeded");
        PolicyDocument document;
        try
        {
            document = PolicyDocument.Parse(policy, PolicyKind.Resource);
        }
        catch (PolicyFormatException e)
        {
            throw InvalidDocument(e.Message);
        }

        var account = ctx.Engine.Options.AccountId;
        foreach (var s in document.Statements)
        {
            if (s.Allow && !s.NotPrincipal && s.Conditions.Length == 0 && Array.IndexOf(s.Principals!, "*") >= 0)
                throw DynamoErrors.Validation("Resource-based policy grants unbounded access in one or more elements. Please revise the policy to ensure least-privilege form of access");
            foreach (var p in s.Principals!)
                if (p != "*" && PolicyVariables.PrincipalAccount(p) != account)
                    throw DynamoErrors.Validation("One or more parameter values were invalid: Invalid principal in policy document.");
            var invalid = s.Actions.Select(a => a.Text)
                .Where(a => a != "*" && (!a.StartsWith("dynamodb:", StringComparison.OrdinalIgnoreCase)
                    || (a.AsSpan().IndexOfAny('*', '?') < 0 && !PolicyActions.Contains(a) && StreamActions.Contains(a) != stream)))
                .ToList();
            if (invalid.Count > 0) throw InvalidDocument("The following action names are invalid: " + string.Join(", ", invalid.Select(a => $"\"{a}\"")));
        }

        return (document, Minify(policy));
    }

    private static DynamoException InvalidDocument(string detail) =>
        DynamoErrors.Validation("One or more parameter values were invalid: Invalid policy document: " + detail);

    /// <summary>A fresh revision id: the time in milliseconds, and always above the previous one.</summary>
    public static string NextRevision(OperationContext ctx, ResourcePolicyDefinition? previous)
    {
        var now = ctx.Engine.Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (previous != null && long.TryParse(previous.RevisionId, NumberStyles.None, CultureInfo.InvariantCulture, out var last) && now <= last) now = last + 1;
        return now.ToString(CultureInfo.InvariantCulture);
    }

    private static string Minify(string json)
    {
        using var document = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            document.WriteTo(writer);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static ResourcePolicyDefinition? Current(TableDefinition d, string? label) =>
        label == null ? d.ResourcePolicy : d.Streams?.Find(s => s.Label == label)?.ResourcePolicy;

    private static void Store(TableDefinition d, string? label, ResourcePolicyDefinition? policy)
    {
        if (label == null)
        {
            d.ResourcePolicy = policy;
            return;
        }

        var i = d.Streams?.FindIndex(s => s.Label == label) ?? -1;
        if (i < 0) throw DynamoErrors.ResourceNotFound($"Requested resource not found: Stream: {label} not found for Table: {d.Name}");
        d.Streams![i] = d.Streams[i] with { ResourcePolicy = policy };
    }

    private static void CheckExpected(string? expected, ResourcePolicyDefinition? current, string table, string arn)
    {
        if (expected == null) return;
        if (expected == NoPolicy)
        {
            if (current != null)
                throw DynamoErrors.PolicyNotFound($"Requested policy update expecting none to be present for table {table}, but a policy exists with revision id {current.RevisionId}.");
            return;
        }

        if (current == null) throw DynamoErrors.PolicyNotFound(arn);
        if (current.RevisionId != expected)
            throw DynamoErrors.PolicyNotFound($"Requested update for policy with revision id {expected}, but the policy associated to target table {table} has revision id {current.RevisionId}.");
    }

    /// <summary>Resolves a table or stream ARN of this account to its table (and stream label), with AWS's errors.</summary>
    private static (TableState Table, string? StreamLabel) Resolve(OperationContext ctx, string arn)
    {
        if (!arn.StartsWith("arn:", StringComparison.Ordinal))
            throw DynamoErrors.Validation($"One or more parameter values were invalid: ARNs must start with 'arn:': {arn}");
        var parts = arn.Split(':', 6);
        if (parts.Length != 6 || parts[2] != "dynamodb" || !parts[5].StartsWith("table/", StringComparison.Ordinal))
            throw DynamoErrors.Validation($"One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: {arn}");
        if (parts[1] != "aws") throw DynamoErrors.Validation($"One or more parameter values were invalid: Invalid resource Arn: {arn}");
        if (parts[4] != ctx.Engine.Options.AccountId) throw DynamoErrors.Validation("This action is only supported by accounts that match the resource owner\u2019s account.");
        var rest = parts[5]["table/".Length..];
        var slash = rest.IndexOf('/');
        var name = slash < 0 ? rest : rest[..slash];
        string? label = null;
        if (slash >= 0)
        {
            var sub = rest[(slash + 1)..];
            if (sub.StartsWith("index/", StringComparison.Ordinal))
                throw DynamoErrors.Validation($"One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {arn}");
            if (!sub.StartsWith("stream/", StringComparison.Ordinal))
                throw DynamoErrors.Validation($"One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: {arn}");
            label = sub["stream/".Length..];
        }

        var table = ctx.Engine.Database.FindTable(name) ?? throw DynamoErrors.ResourceNotFound($"Requested resource not found: Table: {name} not found");
        if (table.Definition.Region != parts[3]) throw DynamoErrors.Validation($"One or more parameter values were invalid: Invalid resource Arn: {arn}");
        if (label != null && table.Definition.Streams?.Find(s => s.Label == label) == null)
            throw DynamoErrors.ResourceNotFound($"Requested resource not found: Stream: {label} not found for Table: {name}");
        return (table, label);
    }
}
