using System.Text;
using Serverless.Engine.Model;

namespace Serverless.Engine.PartiQL;

/// <summary>
/// Renders PartiQL conditions and SET values as DynamoDB expression text over <see cref="PqExpressionText"/>
/// placeholders: <c>a IS NOT MISSING</c> becomes <c>attribute_exists(#n0)</c>, <c>x != ?</c> becomes <c>#n1 &lt;&gt; :v0</c>.
/// The text is then compiled by the JSON API's own expression parser, so evaluation has one implementation.
/// </summary>
internal static class PqRenderer
{
    // Precedence of the rendered forms: parentheses are added only where needed, because the JSON API's
    // parser refuses redundant ones.
    private const int OrLevel = 1, AndLevel = 2, NotLevel = 3;

    public static string Condition(PqExpr e, PqExpressionText text, IReadOnlyList<AttrValue> parameters)
    {
        var sb = new StringBuilder();
        AppendCondition(sb, e, OrLevel, text, parameters);
        return sb.ToString();
    }

    /// <summary>
    /// The conjunction of <paramref name="conjuncts"/>, or null when there are none. Its text binds at least as
    /// tightly as AND, so it can be joined to another condition with AND or OR without parentheses.
    /// </summary>
    public static string? Conjunction(IReadOnlyList<PqExpr> conjuncts, PqExpressionText text, IReadOnlyList<AttrValue> parameters)
    {
        if (conjuncts.Count == 0) return null;
        var sb = new StringBuilder();
        for (var i = 0; i < conjuncts.Count; i++)
        {
            if (i > 0) sb.Append(" AND ");
            AppendCondition(sb, conjuncts[i], AndLevel, text, parameters);
        }

        return sb.ToString();
    }

    private static int Level(PqExpr e) => e switch
    {
        PqOr => OrLevel,
        PqAnd => AndLevel,
        PqNot => NotLevel,
        _ => NotLevel + 1,
    };

    private static void AppendCondition(StringBuilder sb, PqExpr e, int minLevel, PqExpressionText text, IReadOnlyList<AttrValue> parameters)
    {
        if (Level(e) < minLevel)
        {
            sb.Append('(');
            AppendCondition(sb, e, OrLevel, text, parameters);
            sb.Append(')');
            return;
        }

        switch (e)
        {
            case PqAnd a:
                AppendCondition(sb, a.Left, AndLevel, text, parameters);
                sb.Append(" AND ");
                AppendCondition(sb, a.Right, AndLevel, text, parameters);
                break;
            case PqOr o:
                AppendCondition(sb, o.Left, OrLevel, text, parameters);
                sb.Append(" OR ");
                AppendCondition(sb, o.Right, OrLevel, text, parameters);
                break;
            case PqNot n:
                sb.Append("NOT ");
                AppendCondition(sb, n.Operand, NotLevel, text, parameters);
                break;
            case PqBinary { Op: "=" or "<>" or "<" or "<=" or ">" or ">=" } b:
                AppendOperand(sb, b.Left, text, parameters);
                sb.Append(' ').Append(b.Op).Append(' ');
                AppendOperand(sb, b.Right, text, parameters);
                break;
            case PqBetween b:
                AppendOperand(sb, b.Operand, text, parameters);
                sb.Append(" BETWEEN ");
                AppendOperand(sb, b.Low, text, parameters);
                sb.Append(" AND ");
                AppendOperand(sb, b.High, text, parameters);
                break;
            case PqIn i:
                AppendOperand(sb, i.Operand, text, parameters);
                sb.Append(" IN (");
                for (var k = 0; k < i.Values.Count; k++)
                {
                    if (k > 0) sb.Append(", ");
                    AppendOperand(sb, i.Values[k], text, parameters);
                }

                sb.Append(')');
                break;
            case PqIs i:
                AppendIs(sb, i, text, parameters);
                break;
            case PqCall c:
                AppendPredicateCall(sb, c, text, parameters);
                break;
            default:
                throw PqErrors.Validation(PqErrors.NotBoolean);
        }
    }

    private static void AppendIs(StringBuilder sb, PqIs i, PqExpressionText text, IReadOnlyList<AttrValue> parameters)
    {
        if (i.Operand is not PqPath path)
            throw PqErrors.Validation("The left hand side argument to IS must be a Variable Reference, Literal, or Path");
        if (i.Type == "MISSING")
        {
            sb.Append(i.Negated ? "attribute_exists(" : "attribute_not_exists(").Append(text.Path(path)).Append(')');
            return;
        }

        var wire = i.Type switch
        {
            "NULL" => "NULL",
            "BOOLEAN" or "BOOL" => "BOOL",
            "BLOB" => "B",
            "STRING" => "S",
            "NUMERIC" => "N",
            "STRUCT" or "TUPLE" => "M",
            "LIST" => "L",
            _ => throw PqErrors.UnsupportedIsType(i.Type),
        };
        if (i.Negated) sb.Append("NOT ");
        sb.Append("attribute_type(").Append(text.Path(path)).Append(", ").Append(text.Value(AttrValue.FromS(wire))).Append(')');
        _ = parameters;
    }

    private static void AppendPredicateCall(StringBuilder sb, PqCall c, PqExpressionText text, IReadOnlyList<AttrValue> parameters)
    {
        string function;
        int arity;
        switch (c.Name)
        {
            case "begins_with":
            case "contains":
            case "attribute_type":
                function = c.Name;
                arity = 2;
                break;
            case "attribute_exists":
            case "exists":
                function = "attribute_exists";
                arity = 1;
                break;
            case "attribute_not_exists":
            case "missing":
                function = "attribute_not_exists";
                arity = 1;
                break;
            case "size":
                throw PqErrors.Validation(PqErrors.NotBoolean);
            default:
                throw PqErrors.UnrecognizedFunction(c.Name);
        }

        if (c.Args.Count != arity || c.Args[0] is not PqPath)
            throw PqErrors.Validation($"Incorrect number of arguments or argument types for function {c.Name}");
        sb.Append(function).Append('(');
        for (var k = 0; k < c.Args.Count; k++)
        {
            if (k > 0) sb.Append(", ");
            AppendOperand(sb, c.Args[k], text, parameters);
        }

        sb.Append(')');
    }

    /// <summary>An operand: a path, a value, <c>size(path)</c>; in SET values also <c>+ -</c>, list_append and if_not_exists.</summary>
    public static void AppendOperand(StringBuilder sb, PqExpr e, PqExpressionText text, IReadOnlyList<AttrValue> parameters, bool setValue = false)
    {
        switch (e)
        {
            case PqPath p:
                text.AppendPath(sb, p);
                return;
            case PqMissing:
                throw PqErrors.Validation(PqErrors.MissingNotWithIs);
            case PqCall { Name: "size", Args: [PqPath arg] } when !setValue:
                sb.Append("size(");
                text.AppendPath(sb, arg);
                sb.Append(')');
                return;
            case PqCall { Name: "list_append" or "if_not_exists", Args.Count: 2 } call when setValue:
                sb.Append(call.Name).Append('(');
                AppendOperand(sb, call.Args[0], text, parameters, setValue);
                sb.Append(", ");
                AppendOperand(sb, call.Args[1], text, parameters, setValue);
                sb.Append(')');
                return;
            case PqCall call:
                throw PqErrors.UnrecognizedFunction(call.Name);
            case PqBinary { Op: "+" or "-" } b when setValue:
                AppendOperand(sb, b.Left, text, parameters, setValue);
                sb.Append(' ').Append(b.Op).Append(' ');
                AppendOperand(sb, b.Right, text, parameters, setValue);
                return;
        }

        if (PqValues.TryBuild(e, parameters) is { } value)
        {
            sb.Append(text.Value(value));
            return;
        }

        throw PqErrors.UnsupportedOperation(e.GetType().Name[2..]);
    }
}
