using Serverless.Engine.Model;

namespace Serverless.Engine.PartiQL;

/// <summary>One step of a document path: a name, or a list index.</summary>
internal readonly record struct PqPathStep(string? Name, int Index);

/// <summary>An expression of a WHERE clause, a SET value or a literal, as parsed.</summary>
internal abstract record PqExpr;

/// <summary>A document path, <c>a.b[1]."c"</c>.</summary>
internal sealed record PqPath(IReadOnlyList<PqPathStep> Steps) : PqExpr
{
    /// <summary>The attribute name when the path is one top-level name, else null.</summary>
    public string? TopLevelName => Steps.Count == 1 ? Steps[0].Name : null;

    public string Root => Steps[0].Name!;

    public override string ToString()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var s in Steps)
        {
            if (s.Name == null) sb.Append('[').Append(s.Index).Append(']');
            else
            {
                if (sb.Length > 0) sb.Append('.');
                sb.Append(s.Name);
            }
        }

        return sb.ToString();
    }
}

/// <summary>A literal already converted to an attribute value.</summary>
internal sealed record PqLiteral(AttrValue Value) : PqExpr;

/// <summary>The <c>n</c>th <c>?</c> of the statement (zero-based).</summary>
internal sealed record PqParam(int Ordinal) : PqExpr;

/// <summary>The MISSING literal, valid only on the right of IS.</summary>
internal sealed record PqMissing : PqExpr;

/// <summary>A tuple <c>{'k': v}</c> whose values hold parameters (constant tuples fold into a literal).</summary>
internal sealed record PqTuple(IReadOnlyList<KeyValuePair<string, PqExpr>> Members) : PqExpr;

/// <summary>A list <c>[..]</c> or bag <c>&lt;&lt;..&gt;&gt;</c> whose elements hold parameters.</summary>
internal sealed record PqCollection(IReadOnlyList<PqExpr> Elements, bool Bag) : PqExpr;

/// <summary>A comparison, <c>=, &lt;&gt;, &lt;, &lt;=, &gt;, &gt;=</c>, or arithmetic <c>+ -</c> in a SET value.</summary>
internal sealed record PqBinary(string Op, PqExpr Left, PqExpr Right) : PqExpr;

internal sealed record PqAnd(PqExpr Left, PqExpr Right) : PqExpr;

internal sealed record PqOr(PqExpr Left, PqExpr Right) : PqExpr;

internal sealed record PqNot(PqExpr Operand) : PqExpr;

internal sealed record PqBetween(PqExpr Operand, PqExpr Low, PqExpr High) : PqExpr;

internal sealed record PqIn(PqExpr Operand, IReadOnlyList<PqExpr> Values) : PqExpr;

/// <summary><c>x IS [NOT] MISSING | NULL | BOOLEAN | ...</c>; Type is the upper-case type name.</summary>
internal sealed record PqIs(PqExpr Operand, string Type, bool Negated) : PqExpr;

/// <summary>A function call; Name is lower case.</summary>
internal sealed record PqCall(string Name, IReadOnlyList<PqExpr> Args) : PqExpr;

/// <summary>ALL/MODIFIED x OLD/NEW, as the JSON API's ReturnValues it maps to.</summary>
internal enum PqReturning : byte
{
    None,
    AllOld,
    ModifiedOld,
    AllNew,
    ModifiedNew,
}

internal enum PqKind : byte
{
    Select,
    Insert,
    Update,
    Delete,

    /// <summary><c>EXISTS(SELECT ...)</c>: a condition check, only in a transaction of writes.</summary>
    Exists,
}

/// <summary>One SET or REMOVE action of an UPDATE; Value is null for REMOVE.</summary>
internal sealed record PqUpdateAction(PqPath Target, PqExpr? Value);

internal sealed record PqOrderBy(string Name, bool Descending);

/// <summary>A parsed statement. Which members are set depends on <see cref="Kind"/>.</summary>
internal sealed class PqStatement
{
    public required PqKind Kind { get; init; }

    public required string Table { get; init; }

    public string? Index { get; init; }

    /// <summary>SELECT's projection; null for <c>*</c>.</summary>
    public IReadOnlyList<PqPath>? Projection { get; init; }

    public PqExpr? Where { get; init; }

    public IReadOnlyList<PqOrderBy>? OrderBy { get; init; }

    /// <summary>INSERT's item.</summary>
    public PqExpr? Value { get; init; }

    public IReadOnlyList<PqUpdateAction>? Actions { get; init; }

    public PqReturning Returning { get; init; }

    /// <summary>How many <c>?</c> the statement holds.</summary>
    public int ParameterCount { get; init; }

    public bool IsRead => Kind == PqKind.Select;
}
