using System.Runtime.CompilerServices;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Security.Authorization;

/// <summary>
/// Evaluates identity and resource policies for the actions and resources each operation needs, as IAM does within
/// one account: an explicit Deny in either policy wins; otherwise an Allow in the identity policy or in the
/// resource policy suffices; otherwise the request is implicitly denied.
/// </summary>
public sealed class Authorizer
{
    private readonly string _accountId;

    // Identity policies, parsed once per key; keys built outside the configuration (tests) are parsed on first use.
    private readonly ConditionalWeakTable<AccessKeyOptions, ParsedPolicy> _identity = new();

    // Resource policies, parsed once per stored document (the catalog keeps the same string instance until it changes).
    private readonly ConditionalWeakTable<string, PolicyDocument> _resource = new();

    private readonly DecisionCache _decisions = new();

    /// <summary>How many decisions are cached (tests).</summary>
    internal int CachedDecisions => _decisions.Count;

    private sealed record ParsedPolicy(PolicyDocument? Document);

    internal Authorizer(EngineOptions options)
    {
        _accountId = options.AccountId;
        var keys = options.Auth.Keys;
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            try
            {
                _identity.AddOrUpdate(key, new ParsedPolicy(key.Policy is { Length: > 0 } json ? PolicyDocument.Parse(json, PolicyKind.Identity) : null));
            }
            catch (PolicyFormatException e)
            {
                throw new ArgumentException($"Auth:Keys:{i}:Policy (access key {key.AccessKeyId}) is not a valid IAM policy: {e.Message}");
            }
        }
    }

    /// <summary>Why <paramref name="policy"/> (an identity policy from configuration) does not parse; null when it does or is unset.</summary>
    public static string? PolicyProblem(string? policy)
    {
        if (policy is not { Length: > 0 }) return null;
        try
        {
            PolicyDocument.Parse(policy, PolicyKind.Identity);
            return null;
        }
        catch (PolicyFormatException e)
        {
            return e.Message;
        }
    }

    /// <summary>Throws AccessDeniedException unless the caller may perform everything the request asks.</summary>
    public void Authorize(OperationContext context, string target, JsonElement request)
    {
        if (context.Caller is not { } caller) return;
        var checks = t_checks ?? new List<AccessCheck>(4);
        t_checks = null;
        try
        {
            OperationPermissions.For(context, target, request, checks);
            var variables = caller.Variables(_accountId);
            foreach (var check in checks) Enforce(variables, check);
        }
        finally
        {
            checks.Clear();
            t_checks = checks;
        }
    }

    // Authorize runs synchronously, so one list per thread serves every request's checks.
    [ThreadStatic]
    private static List<AccessCheck>? t_checks;

    /// <summary>
    /// Throws AccessDeniedException unless <paramref name="caller"/> may perform <paramref name="action"/> on
    /// <paramref name="resource"/> (an ARN, or <c>*</c>). The local host's admin routes use actions such as
    /// <c>admin:GetMetrics</c>, <c>admin:AdvanceClock</c> and <c>admin:InvokeFunction</c> on resource <c>*</c>.
    /// </summary>
    public void Check(Caller caller, string action, string resource) =>
        Enforce(caller.Variables(_accountId), new AccessCheck(action, resource, null, null));

    /// <summary>The decision for one check, without throwing (tests and the resource-policy lockout check use it).</summary>
    public (Decision Decision, bool ByResourcePolicy) Decide(Caller caller, AccessCheck check) => Decide(caller.Variables(_accountId), check);

    private (Decision Decision, bool ByResourcePolicy) Decide(PolicyVariables variables, AccessCheck check)
    {
        // A decision that depends only on the caller, the action and the resource is taken once (DecisionCache).
        var identityDoc = IdentityPolicy(variables.Caller);
        var resourceText = ResourcePolicyText(check);
        var resourceDoc = resourceText == null ? null : ParseStored(resourceText);
        if (identityDoc?.ReadsRequest == true || resourceDoc?.ReadsRequest == true)
            return Evaluate(variables, check, identityDoc, resourceDoc);

        if (_decisions.TryGet(variables.Caller, check.Action, check.Resource, identityDoc, resourceText, out var cached))
            return (cached.Decision, cached.ByResourcePolicy);
        var decided = Evaluate(variables, check, identityDoc, resourceDoc);
        _decisions.Add(variables.Caller, check.Action, check.Resource, identityDoc, resourceText, new DecisionCache.Decided(decided.Decision, decided.ByResourcePolicy));
        return decided;
    }

    private static (Decision Decision, bool ByResourcePolicy) Evaluate(PolicyVariables variables, AccessCheck check, PolicyDocument? identityDoc, PolicyDocument? resourceDoc)
    {
        var caller = variables.Caller;
        var identity = identityDoc is { } doc
            ? PolicyEvaluator.Evaluate(doc, check, variables, resourcePolicy: false)
            : Decision.NotApplicable;

        // The account's root user is allowed everything its own policies do not deny.
        if (identity == Decision.NotApplicable && IsRoot(caller)) identity = Decision.Allow;
        if (identity == Decision.Deny) return (Decision.Deny, false);

        var resource = resourceDoc is { } rp
            ? PolicyEvaluator.Evaluate(rp, check, variables, resourcePolicy: true)
            : Decision.NotApplicable;

        // So that nobody is locked out for good, the root user may always delete a resource policy.
        if (resource == Decision.Deny && IsRoot(caller) && check.Action == "dynamodb:DeleteResourcePolicy") resource = Decision.NotApplicable;
        if (resource == Decision.Deny) return (Decision.Deny, true);
        if (identity == Decision.Allow) return (Decision.Allow, false);
        if (resource == Decision.Allow) return (Decision.Allow, true);
        return (Decision.NotApplicable, false);
    }

    /// <summary>What <paramref name="document"/> (a resource policy not yet attached) says about the caller doing <paramref name="action"/> on <paramref name="resource"/>.</summary>
    public Decision EvaluateResourcePolicy(PolicyDocument document, Caller caller, string action, string resource) =>
        PolicyEvaluator.Evaluate(document, action, resource, caller.Variables(_accountId), RequestFacts.Empty, resourcePolicy: true);

    private void Enforce(PolicyVariables variables, AccessCheck check)
    {
        var (decision, byResource) = Decide(variables, check);
        if (decision == Decision.Allow) return;
        throw DynamoErrors.AccessDenied(variables.Caller.PrincipalArn, check.Action, check.Resource,
            decision == Decision.Deny ? (byResource ? DenialReason.ResourcePolicyDeny : DenialReason.IdentityPolicyDeny) : DenialReason.NoAllow);
    }

    private static bool IsRoot(Caller caller) => caller.PrincipalArn.EndsWith(":root", StringComparison.Ordinal);

    private PolicyDocument? IdentityPolicy(Caller caller)
    {
        var key = caller.Key;
        if (_identity.TryGetValue(key, out var parsed)) return parsed.Document;
        parsed = new ParsedPolicy(key.Policy is { Length: > 0 } json ? PolicyDocument.Parse(json, PolicyKind.Identity) : null);
        _identity.AddOrUpdate(key, parsed);
        return parsed.Document;
    }

    /// <summary>The stored resource policy that governs <paramref name="check"/>: its table's, or its stream's.</summary>
    private static string? ResourcePolicyText(AccessCheck check)
    {
        if (check.Table is not { } table) return null;
        var definition = table.Definition;
        if (check.StreamLabel is not { } label) return definition.ResourcePolicy?.Document;
        if (definition.Streams is { } streams)
            foreach (var stream in streams)
                if (stream.Label == label) return stream.ResourcePolicy?.Document;
        return null;
    }

    private PolicyDocument ParseStored(string text) =>
        _resource.GetValue(text, static t => PolicyDocument.Parse(t, PolicyKind.Resource));
}

/// <summary>Why a request was denied: the three endings of AWS's AccessDeniedException message.</summary>
public enum DenialReason
{
    NoAllow,
    IdentityPolicyDeny,
    ResourcePolicyDeny,
}
