using System.Text;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Expressions;

/// <summary>Read-only evaluation of operands and conditions against an item. Never mutates tree or item.</summary>
internal static class Evaluator
{
    public static string ElementName(in PathElem e, ExpressionAttributes attrs) =>
        e.Kind == PathElemKind.Placeholder ? attrs.Name(e.Text!) : e.Text!;

    /// <summary>The value at <paramref name="path"/>, or null when any step is missing or of the wrong type.</summary>
    public static AttrValue? Get(IReadOnlyDictionary<string, AttrValue>? item, DocPath path, ExpressionAttributes attrs)
    {
        if (item == null) return null;
        var elems = path.Elements;
        if (!item.TryGetValue(ElementName(elems[0], attrs), out var cur)) return null;
        for (var i = 1; i < elems.Length; i++)
        {
            var e = elems[i];
            if (e.Kind == PathElemKind.Index)
            {
                if (cur.Type != AttrType.L || e.Index >= cur.L.Count) return null;
                cur = cur.L[e.Index];
            }
            else
            {
                if (cur.Type != AttrType.M || !cur.M.TryGetValue(ElementName(e, attrs), out var next)) return null;
                cur = next;
            }
        }

        return cur;
    }

    public static AttrValue? Operand(Node n, IReadOnlyDictionary<string, AttrValue>? item, ExpressionAttributes attrs) => n switch
    {
        PathNode p => Get(item, p.Path, attrs),
        ValueNode v => attrs.Value(v.Name),
        LiteralNode l => l.Value,
        FuncNode { Name: Functions.Size } f => Size(Operand(f.Args[0], item, attrs)),
        _ => null,
    };

    private static AttrValue? Size(AttrValue? v)
    {
        if (v == null) return null;
        int size;
        switch (v.Type)
        {
            case AttrType.S: size = Encoding.UTF8.GetByteCount(v.S); break;
            case AttrType.B: size = v.B.Length; break;
            case AttrType.L or AttrType.M or AttrType.SS or AttrType.NS or AttrType.BS: size = v.Count; break;
            default: return null;
        }

        return AttrValue.FromCanonicalN(size.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public static bool Condition(Node n, IReadOnlyDictionary<string, AttrValue>? item, ExpressionAttributes attrs)
    {
        switch (n)
        {
            case AndNode a:
                return Condition(a.Left, item, attrs) && Condition(a.Right, item, attrs);
            case OrNode o:
                return Condition(o.Left, item, attrs) || Condition(o.Right, item, attrs);
            case NotNode not:
                return !Condition(not.Operand, item, attrs);
            case CompareNode c:
                {
                    var l = Operand(c.Left, item, attrs);
                    var r = Operand(c.Right, item, attrs);
                    if (c.Op == CompareOp.Eq) return l != null && r != null && l.Equals(r);
                    if (c.Op == CompareOp.Ne) return !(l != null && r != null && l.Equals(r));
                    if (l == null || r == null || Compare(l, r) is not { } cmp) return false;
                    return c.Op switch
                    {
                        CompareOp.Lt => cmp < 0,
                        CompareOp.Le => cmp <= 0,
                        CompareOp.Gt => cmp > 0,
                        _ => cmp >= 0,
                    };
                }

            case BetweenNode b:
                {
                    var v = Operand(b.Value, item, attrs);
                    var lo = Operand(b.Low, item, attrs);
                    var hi = Operand(b.High, item, attrs);
                    if (v == null || lo == null || hi == null) return false;
                    return Compare(v, lo) is >= 0 && Compare(v, hi) is <= 0;
                }

            case InNode i:
                {
                    var v = Operand(i.Value, item, attrs);
                    if (v == null) return false;
                    foreach (var candidate in i.List)
                        if (Operand(candidate, item, attrs) is { } c && v.Equals(c)) return true;
                    return false;
                }

            case FuncNode f:
                return Function(f, item, attrs);
            case TrueNode:
                return true;
            default:
                return false;
        }
    }

    private static bool Function(FuncNode f, IReadOnlyDictionary<string, AttrValue>? item, ExpressionAttributes attrs)
    {
        switch (f.Name)
        {
            case Functions.AttributeExists:
                return Get(item, ((PathNode)f.Args[0]).Path, attrs) != null;
            case Functions.AttributeNotExists:
                return Get(item, ((PathNode)f.Args[0]).Path, attrs) == null;
            case Functions.AttributeType:
                {
                    var v = Operand(f.Args[0], item, attrs);
                    var t = Operand(f.Args[1], item, attrs);
                    return v != null && t is { Type: AttrType.S } && AttrTypeNames.Name(v.Type) == t.S;
                }

            case Functions.BeginsWith:
                {
                    var v = Operand(f.Args[0], item, attrs);
                    var p = Operand(f.Args[1], item, attrs);
                    if (v == null || p == null || v.Type != p.Type) return false;
                    if (v.Type == AttrType.S) return v.S.StartsWith(p.S, StringComparison.Ordinal);
                    return v.Type == AttrType.B && v.B.AsSpan().StartsWith(p.B);
                }

            case Functions.Contains:
                {
                    var v = Operand(f.Args[0], item, attrs);
                    var x = Operand(f.Args[1], item, attrs);
                    return v != null && x != null && Contains(v, x);
                }

            default:
                return false;
        }
    }

    public static bool Contains(AttrValue container, AttrValue x)
    {
        switch (container.Type)
        {
            case AttrType.S:
                return x.Type == AttrType.S && container.S.Contains(x.S, StringComparison.Ordinal);
            case AttrType.B:
                return x.Type == AttrType.B && container.B.AsSpan().IndexOf(x.B) >= 0;
            case AttrType.SS:
                return x.Type == AttrType.S && container.StringSet.Contains(x.S, StringComparer.Ordinal);
            case AttrType.NS:
                return x.Type == AttrType.N && container.StringSet.Contains(x.N, StringComparer.Ordinal);
            case AttrType.BS:
                if (x.Type != AttrType.B) return false;
                foreach (var b in container.BS)
                    if (b.AsSpan().SequenceEqual(x.B)) return true;
                return false;
            case AttrType.L:
                foreach (var e in container.L)
                    if (e.Equals(x)) return true;
                return false;
            default:
                return false;
        }
    }

    /// <summary>Ordering for S (UTF-8 byte order), N (numeric) and B (byte order); null for other or mixed types.</summary>
    public static int? Compare(AttrValue a, AttrValue b)
    {
        if (a.Type != b.Type) return null;
        return a.Type switch
        {
            AttrType.S => CompareUtf8(a.S, b.S),
            AttrType.N => a.AsNumber().CompareTo(b.AsNumber()),
            AttrType.B => a.B.AsSpan().SequenceCompareTo(b.B),
            _ => null,
        };
    }

    /// <summary>Compares UTF-16 strings in UTF-8 byte (code point) order.</summary>
    public static int CompareUtf8(string a, string b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var ca = a[i];
            var cb = b[i];
            if (ca != cb) return Fix(ca).CompareTo(Fix(cb));
        }

        return a.Length.CompareTo(b.Length);

        static int Fix(char c) => c >= 0xD800 && c <= 0xDFFF ? c + 0x2000 : c >= 0xE000 ? c - 0x800 : c;
    }

    public static AttrValue NumberResult(DynamoNumber.ParseStatus status, DynamoNumber value) => status switch
    {
        DynamoNumber.ParseStatus.Ok => AttrValue.FromN(value),
        DynamoNumber.ParseStatus.Overflow => throw DynamoErrors.Validation(
            "Number overflow. Attempting to store a number with magnitude larger than supported range"),
        DynamoNumber.ParseStatus.Underflow => throw DynamoErrors.Validation(
            "Number underflow. Attempting to store a number with magnitude smaller than supported range"),
        _ => throw DynamoErrors.Validation("Attempting to store more than 38 significant digits in a Number"),
    };
}
