using System.Globalization;

namespace Serverless.Engine.Security.Authorization;

/// <summary>What one policy says about one request: nothing, an Allow, or an explicit Deny.</summary>
public enum Decision
{
    NotApplicable,
    Allow,
    Deny,
}

/// <summary>Evaluates one policy document for one action on one resource, as IAM evaluates a single policy.</summary>
public static class PolicyEvaluator
{
    /// <summary>
    /// Deny if any matching statement denies; else Allow if one allows; else NotApplicable. In a resource policy a
    /// statement applies only to the principals it names (<paramref name="resourcePolicy"/>).
    /// </summary>
    public static Decision Evaluate(PolicyDocument policy, string action, string resource, PolicyVariables variables, RequestFacts facts, bool resourcePolicy) =>
        Evaluate(policy, action, resource, variables, new FactsSource(facts, null), resourcePolicy);

    /// <summary>As above, for <paramref name="check"/>: its condition keys are read from the request only if a condition asks.</summary>
    public static Decision Evaluate(PolicyDocument policy, AccessCheck check, PolicyVariables variables, bool resourcePolicy) =>
        Evaluate(policy, check.Action, check.Resource, variables, new FactsSource(null, check), resourcePolicy);

    /// <summary>Either facts already read, or the check that reads them on first use.</summary>
    private readonly record struct FactsSource(RequestFacts? Facts, AccessCheck? Check)
    {
        public RequestFacts Get() => Facts ?? Check!.Facts;
    }

    private static Decision Evaluate(PolicyDocument policy, string action, string resource, PolicyVariables variables, FactsSource facts, bool resourcePolicy)
    {
        var result = Decision.NotApplicable;
        var vars = policy.HasVariables ? variables : null;
        foreach (var s in policy.Statements)
        {
            if (result == Decision.Allow && s.Allow) continue;
            if (AnyMatches(s.Actions, action, null) == s.NotAction) continue;
            if (AnyMatches(s.Resources, resource, vars) == s.NotResource) continue;
            if (resourcePolicy && PrincipalMatches(s, variables) == s.NotPrincipal) continue;
            if (!ConditionsHold(s.Conditions, variables, vars, facts)) continue;
            if (!s.Allow) return Decision.Deny;
            result = Decision.Allow;
        }

        return result;
    }

    private static bool AnyMatches(Pattern[] patterns, string value, PolicyVariables? vars)
    {
        foreach (var p in patterns)
            if (p.Matches(value, vars)) return true;
        return false;
    }

    /// <summary>
    /// Whether the statement names the caller. An account principal (<c>arn:aws:iam::ACCOUNT:root</c>, or the bare
    /// account id) delegates to the account: in an Allow it does not by itself grant an IAM user anything (the user's
    /// identity policy must), so it matches only the root caller; in a Deny it covers every principal of the account.
    /// </summary>
    private static bool PrincipalMatches(PolicyStatement s, PolicyVariables variables)
    {
        var caller = variables.Caller.PrincipalArn;
        foreach (var p in s.Principals!)
        {
            if (p == "*" || string.Equals(p, caller, StringComparison.Ordinal)) return true;
            if (p.EndsWith(":root", StringComparison.Ordinal) && (!s.Allow || s.NotPrincipal)
                && PolicyVariables.PrincipalAccount(p) is { } account && account == (PolicyVariables.PrincipalAccount(caller) ?? variables.AccountId))
                return true;
        }

        return false;
    }

    private static bool ConditionsHold(PolicyCondition[] conditions, PolicyVariables variables, PolicyVariables? vars, FactsSource facts)
    {
        foreach (var c in conditions)
            if (!Holds(c, variables, vars, facts)) return false;
        return true;
    }

    private static bool Holds(PolicyCondition c, PolicyVariables variables, PolicyVariables? vars, FactsSource facts)
    {
        var values = Lookup(c.Key, variables, facts);
        var absent = values == null || values.Count == 0;
        if (c.Operator == ConditionOperator.Null)
        {
            foreach (var v in c.Values)
                if (string.Equals(v, "true", StringComparison.OrdinalIgnoreCase) ? absent : !absent) return true;
            return false;
        }

        if (absent)
        {
            if (c.Qualifier == SetQualifier.ForAllValues || c.IfExists) return true;
            return c.Qualifier == SetQualifier.None && IsNegated(c.Operator);
        }

        if (c.Qualifier == SetQualifier.ForAllValues)
        {
            foreach (var v in values!)
                if (!Satisfies(c, v, vars)) return false;
            return true;
        }

        foreach (var v in values!)
            if (Satisfies(c, v, vars)) return true;
        return false;
    }

    private static bool IsNegated(ConditionOperator op) => op is ConditionOperator.StringNotEquals or ConditionOperator.StringNotEqualsIgnoreCase
        or ConditionOperator.StringNotLike or ConditionOperator.ArnNotEquals or ConditionOperator.ArnNotLike or ConditionOperator.NumericNotEquals;

    /// <summary>A request value satisfies a positive operator when it matches one of the policy's values, a negated one when it matches none.</summary>
    private static bool Satisfies(PolicyCondition c, string value, PolicyVariables? vars)
    {
        var negated = IsNegated(c.Operator);
        foreach (var p in c.Values)
            if (Compare(c.Operator, p, value, vars)) return !negated;
        return negated;
    }

    private static bool Compare(ConditionOperator op, string policyValue, string value, PolicyVariables? vars)
    {
        var like = op is ConditionOperator.StringLike or ConditionOperator.StringNotLike or ConditionOperator.ArnLike or ConditionOperator.ArnNotLike
            or ConditionOperator.ArnEquals or ConditionOperator.ArnNotEquals;
        if (vars != null && policyValue.Contains("${", StringComparison.Ordinal))
        {
            if (op is ConditionOperator.StringEquals or ConditionOperator.StringNotEquals)
                return vars.EqualsSubstituted(policyValue, value, StringComparison.Ordinal) == true;
            if (op is ConditionOperator.StringEqualsIgnoreCase or ConditionOperator.StringNotEqualsIgnoreCase)
                return vars.EqualsSubstituted(policyValue, value, StringComparison.OrdinalIgnoreCase) == true;
            if (vars.Substitute(policyValue, forGlob: like) is not { } expanded) return false;
            policyValue = expanded;
        }

        switch (op)
        {
            case ConditionOperator.StringEquals or ConditionOperator.StringNotEquals:
                return string.Equals(policyValue, value, StringComparison.Ordinal);
            case ConditionOperator.StringEqualsIgnoreCase or ConditionOperator.StringNotEqualsIgnoreCase:
                return string.Equals(policyValue, value, StringComparison.OrdinalIgnoreCase);
            case ConditionOperator.Bool:
                return string.Equals(policyValue, value, StringComparison.OrdinalIgnoreCase);
            case ConditionOperator.NumericEquals or ConditionOperator.NumericNotEquals or ConditionOperator.NumericLessThan
                or ConditionOperator.NumericLessThanEquals or ConditionOperator.NumericGreaterThan or ConditionOperator.NumericGreaterThanEquals:
                if (!decimal.TryParse(policyValue, NumberStyles.Float, CultureInfo.InvariantCulture, out var limit)
                    || !decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)) return false;
                return op switch
                {
                    ConditionOperator.NumericLessThan => number < limit,
                    ConditionOperator.NumericLessThanEquals => number <= limit,
                    ConditionOperator.NumericGreaterThan => number > limit,
                    ConditionOperator.NumericGreaterThanEquals => number >= limit,
                    _ => number == limit,
                };
            default:
                return Pattern.Glob(policyValue, value, ignoreCase: false);
        }
    }

    /// <summary>The request's values for a condition key (keys are case-insensitive); null when the request has none.</summary>
    private static List<string>? Lookup(string key, PolicyVariables variables, FactsSource source)
    {
        if (key.StartsWith("dynamodb:", StringComparison.OrdinalIgnoreCase))
        {
            var facts = source.Get();
            var name = key.AsSpan(9);
            if (name.Equals("LeadingKeys", StringComparison.OrdinalIgnoreCase)) return facts.LeadingKeys;
            if (name.Equals("Attributes", StringComparison.OrdinalIgnoreCase)) return facts.Attributes;
            if (name.Equals("Select", StringComparison.OrdinalIgnoreCase)) return One(facts.Select);
            if (name.Equals("ReturnValues", StringComparison.OrdinalIgnoreCase)) return One(facts.ReturnValues);
            if (name.Equals("ReturnConsumedCapacity", StringComparison.OrdinalIgnoreCase)) return One(facts.ReturnConsumedCapacity);
            return null;
        }

        return One(variables.Global(key));
    }

    private static List<string>? One(string? value) => value == null ? null : [value];
}
