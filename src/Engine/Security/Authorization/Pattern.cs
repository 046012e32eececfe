namespace Serverless.Engine.Security.Authorization;

/// <summary>
/// An IAM match pattern: <c>*</c> matches any run of characters (across <c>:</c> and <c>/</c>), <c>?</c> any one
/// character. Patterns in 2012-10-17 policies may hold policy variables such as <c>${aws:username}</c>.
/// </summary>
public sealed class Pattern
{
    private readonly Kind _kind;

    public Pattern(string text, bool ignoreCase)
    {
        Text = text;
        IgnoreCase = ignoreCase;
        HasVariables = text.Contains("${", StringComparison.Ordinal);
        _kind = HasVariables ? Kind.Glob
            : text == "*" ? Kind.Any
            : text.AsSpan().IndexOfAny('*', '?') < 0 ? Kind.Exact
            : text.IndexOf('*') == text.Length - 1 && !text.Contains('?') ? Kind.Prefix
            : Kind.Glob;
    }

    private enum Kind
    {
        Any,
        Exact,
        Prefix,
        Glob,
    }

    public string Text { get; }

    public bool IgnoreCase { get; }

    public bool HasVariables { get; }

    private StringComparison Comparison => IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>Whether <paramref name="value"/> matches; <paramref name="variables"/> resolves policy variables (null: they are literal).</summary>
    public bool Matches(string value, PolicyVariables? variables)
    {
        switch (_kind)
        {
            case Kind.Any: return true;
            case Kind.Exact: return string.Equals(Text, value, Comparison);
            case Kind.Prefix: return value.StartsWith(Text.AsSpan(0, Text.Length - 1), Comparison);
        }

        if (HasVariables && variables != null)
        {
            // A variable whose value is unknown makes the element match nothing, as IAM does.
            return variables.Substitute(Text, forGlob: true) is { } expanded && Glob(expanded, value, IgnoreCase);
        }

        return Glob(Text, value, IgnoreCase);
    }

    /// <summary>Wildcard match with backtracking over the last <c>*</c> (linear for the patterns policies use).</summary>
    public static bool Glob(ReadOnlySpan<char> pattern, ReadOnlySpan<char> value, bool ignoreCase)
    {
        int p = 0, v = 0, star = -1, mark = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length)
            {
                var c = pattern[p];
                if (c == '\u0001')
                {
                    if (p + 1 < pattern.Length && Same(pattern[p + 1], value[v], ignoreCase)) { p += 2; v++; continue; }
                }
                else if (c == '*') { star = p++; mark = v; continue; }
                else if (c == '?' || Same(c, value[v], ignoreCase)) { p++; v++; continue; }
            }

            if (star < 0) return false;
            p = star + 1;
            v = ++mark;
        }

        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    private static bool Same(char a, char b, bool ignoreCase) =>
        a == b || (ignoreCase && char.ToUpperInvariant(a) == char.ToUpperInvariant(b));
}

/// <summary>The values of policy variables for one caller: <c>${aws:username}</c>, <c>${aws:userid}</c>, <c>${aws:PrincipalArn}</c>...</summary>
public sealed class PolicyVariables(Caller caller, string accountId)
{
    public Caller Caller { get; } = caller;

    public string AccountId { get; } = accountId;

    /// <summary>The value of a global condition key (also usable as a variable); null when the request has none.</summary>
    public string? Global(string key) => Global(key.AsSpan());

    /// <summary>As <see cref="Global(string)"/>, for a key inside a larger text (a <c>${...}</c> variable).</summary>
    public string? Global(ReadOnlySpan<char> key)
    {
        if (key.Equals("aws:username", StringComparison.OrdinalIgnoreCase)) return Caller.UserName;
        if (key.Equals("aws:userid", StringComparison.OrdinalIgnoreCase)) return Caller.AccessKeyId;
        if (key.Equals("aws:PrincipalArn", StringComparison.OrdinalIgnoreCase)) return Caller.PrincipalArn;
        if (key.Equals("aws:PrincipalAccount", StringComparison.OrdinalIgnoreCase)) return PrincipalAccount(Caller.PrincipalArn) ?? AccountId;
        if (key.Equals("aws:PrincipalType", StringComparison.OrdinalIgnoreCase))
            return Caller.PrincipalArn.EndsWith(":root", StringComparison.Ordinal) ? "Account" : Caller.PrincipalArn.Contains(":assumed-role/", StringComparison.Ordinal) ? "AssumedRole" : "User";
        return null;
    }

    /// <summary>The account field of an IAM/STS ARN (<c>arn:aws:iam::123456789012:user/x</c>).</summary>
    public static string? PrincipalAccount(string arn)
    {
        var parts = arn.Split(':');
        return parts.Length >= 6 && parts[4].Length > 0 ? parts[4] : null;
    }

    /// <summary>
    /// Replaces <c>${...}</c> in <paramref name="text"/>; null when a variable has no value. For glob patterns the
    /// substituted text is marked literal (a <c>*</c> in a user name is not a wildcard); <c>${*}</c>, <c>${?}</c>
    /// and <c>${$}</c> stand for the literal characters.
    /// </summary>
    public string? Substitute(string text, bool forGlob)
    {
        var sb = new System.Text.StringBuilder(text.Length + 16);
        var i = 0;
        while (i < text.Length)
        {
            var open = text.IndexOf("${", i, StringComparison.Ordinal);
            if (open < 0) { sb.Append(text, i, text.Length - i); break; }
            var close = text.IndexOf('}', open + 2);
            if (close < 0) { sb.Append(text, i, text.Length - i); break; }
            sb.Append(text, i, open - i);
            var value = Variable(text.AsSpan(open + 2, close - open - 2));
            if (value == null) return null;
            if (forGlob)
                foreach (var c in value) sb.Append('\u0001').Append(c);
            else sb.Append(value);
            i = close + 1;
        }

        return sb.ToString();
    }

    /// <summary>
    /// Whether <paramref name="value"/> equals <paramref name="text"/> with its variables substituted, compared
    /// piece by piece without building the substituted text; null when a variable has no value.
    /// </summary>
    public bool? EqualsSubstituted(string text, string value, StringComparison comparison)
    {
        var rest = value.AsSpan();
        var i = 0;
        while (true)
        {
            var open = text.IndexOf("${", i, StringComparison.Ordinal);
            var close = open < 0 ? -1 : text.IndexOf('}', open + 2);
            if (close < 0) return rest.Equals(text.AsSpan(i), comparison);
            var literal = text.AsSpan(i, open - i);
            if (!rest.StartsWith(literal, comparison)) return false;
            rest = rest[literal.Length..];
            if (Variable(text.AsSpan(open + 2, close - open - 2)) is not { } variable) return null;
            if (!rest.StartsWith(variable, comparison)) return false;
            rest = rest[variable.Length..];
            i = close + 1;
        }
    }

    /// <summary>The value of the variable named inside <c>${...}</c>, with an optional <c>, 'default'</c>.</summary>
    private string? Variable(ReadOnlySpan<char> inside)
    {
        var name = inside;
        ReadOnlySpan<char> fallback = default;
        var hasFallback = false;
        var comma = inside.IndexOf(',');
        if (comma > 0)
        {
            name = inside[..comma];
            fallback = inside[(comma + 1)..].Trim().Trim('\'');
            hasFallback = true;
        }

        name = name.Trim();
        if (name is "*" or "?" or "$") return name.ToString();
        return Global(name) ?? (hasFallback ? fallback.ToString() : null);
    }
}
