using Serverless.Engine.Model;

namespace Serverless.Engine.Expressions;

/// <summary>
/// Per-request checks of a cached tree against the request's names and values: undefined placeholders,
/// operand types DynamoDB checks before reading the item, and overlapping paths.
/// </summary>
internal static class Binder
{
    private const string AllTypes = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}";

    public static string UndefinedName(string p) =>
        "An expression attribute name used in the document path is not defined; attribute name: " + p;

    public static string UndefinedValue(string p) =>
        "An expression attribute value used in expression is not defined; attribute value: " + p;

    /// <summary>Resolves a path to names (string) and indexes (int); null when a placeholder is undefined.</summary>
    public static object[]? Resolve(DocPath path, ExpressionAttributes attrs, string?[] errors, int nameSlot)
    {
        var result = new object[path.Elements.Length];
        var ok = true;
        for (var i = 0; i < result.Length; i++)
        {
            var e = path.Elements[i];
            switch (e.Kind)
            {
                case PathElemKind.Name:
                    result[i] = e.Text!;
                    break;
                case PathElemKind.Index:
                    result[i] = e.Index;
                    break;
                default:
                    if (attrs.TryName(e.Text!, out var n)) result[i] = n;
                    else
                    {
                        Slots.Set(errors, nameSlot, UndefinedName(e.Text!));
                        ok = false;
                    }

                    break;
            }
        }

        return ok ? result : null;
    }

    public static string PathString(object[] path) =>
        "[" + string.Join(", ", path.Select(p => p is int i ? "[" + i + "]" : (string)p)) + "]";

    private static bool SamePath(object[] a, object[] b) => a.Length == b.Length && a.SequenceEqual(b);

    /// <summary>DynamoDB's overlap / conflict check across the paths of one update or projection.</summary>
    public static void CheckOverlaps(List<object[]> paths, string?[] errors, int overlapSlot, int conflictSlot)
    {
        for (var j = 1; j < paths.Count; j++)
        {
            for (var i = 0; i < j; i++)
            {
                var p1 = paths[i];
                var p2 = paths[j];
                var n = Math.Min(p1.Length, p2.Length);
                var differ = false;
                for (var k = 0; k < n; k++)
                {
                    if ((p1[k] is int) != (p2[k] is int))
                    {
                        Slots.Set(errors, conflictSlot,
                            $"Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {PathString(p1)}, path two: {PathString(p2)}");
                        differ = true;
                        break;
                    }

                    if (!p1[k].Equals(p2[k]))
                    {
                        differ = true;
                        break;
                    }
                }

                if (!differ)
                {
                    Slots.Set(errors, overlapSlot,
                        $"Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {PathString(p1)}, path two: {PathString(p2)}");
                    return;
                }
            }
        }
    }

    // ---------------------------------------------------------------- conditions

    public static void BindCondition(Node node, ExpressionAttributes attrs, string?[] errors)
    {
        switch (node)
        {
            case PathNode p:
                Resolve(p.Path, attrs, errors, Slots.CondNameOrValue);
                break;
            case ValueNode v:
                if (!attrs.TryValue(v.Name, out _)) Slots.Set(errors, Slots.CondNameOrValue, UndefinedValue(v.Name));
                break;
            case LiteralNode:
                break;
            case CompareNode c:
                BindCondition(c.Left, attrs, errors);
                BindCondition(c.Right, attrs, errors);
                CheckDistinct(CompareNode.Symbol(c.Op), c.Left, c.Right, attrs, errors);
                break;
            case BetweenNode b:
                BindCondition(b.Value, attrs, errors);
                BindCondition(b.Low, attrs, errors);
                BindCondition(b.High, attrs, errors);
                CheckBetweenBounds(b, attrs, errors);
                break;
            case InNode i:
                BindCondition(i.Value, attrs, errors);
                foreach (var n in i.List) BindCondition(n, attrs, errors);
                break;
            case AndNode a:
                BindCondition(a.Left, attrs, errors);
                BindCondition(a.Right, attrs, errors);
                break;
            case OrNode o:
                BindCondition(o.Left, attrs, errors);
                BindCondition(o.Right, attrs, errors);
                break;
            case NotNode n:
                BindCondition(n.Operand, attrs, errors);
                break;
            case FuncNode f:
                foreach (var a in f.Args) BindCondition(a, attrs, errors);
                CheckFunctionTypes(f, attrs, errors);
                break;
        }
    }

    private static void CheckDistinct(string op, Node a, Node b, ExpressionAttributes attrs, string?[] errors)
    {
        if (a is not PathNode pa || b is not PathNode pb) return;
        var ra = ResolveQuiet(pa.Path, attrs);
        var rb = ResolveQuiet(pb.Path, attrs);
        if (ra != null && rb != null && SamePath(ra, rb))
            Slots.Set(errors, Slots.CondDistinct,
                $"The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {PathString(ra)}");
    }

    private static object[]? ResolveQuiet(DocPath path, ExpressionAttributes attrs) =>
        Resolve(path, attrs, new string?[Slots.Count], 0);

    /// <summary>The type DynamoDB knows before reading the item: a value's type, or N for size().</summary>
    private static string? StaticType(Node n, ExpressionAttributes attrs) => n switch
    {
        ValueNode v when attrs.TryValue(v.Name, out var val) => AttrTypeNames.Name(val.Type),
        LiteralNode l => AttrTypeNames.Name(l.Value.Type),
        FuncNode { Name: Functions.Size } => "N",
        _ => null,
    };

    private static AttrValue? Immediate(Node n, ExpressionAttributes attrs) => n switch
    {
        ValueNode v when attrs.TryValue(v.Name, out var val) => val,
        LiteralNode l => l.Value,
        _ => null,
    };

    private static void CheckFunctionTypes(FuncNode f, ExpressionAttributes attrs, string?[] errors)
    {
        if (!Functions.IsConditionFunction(f.Name) || f.Args.Length != Functions.Arity(f.Name)) return;
        if (f.Args.Length == 2) CheckDistinct(f.Name, f.Args[0], f.Args[1], attrs, errors);
        switch (f.Name)
        {
            case Functions.BeginsWith:
                foreach (var a in f.Args)
                {
                    var t = StaticType(a, attrs);
                    if (t != null && t != "S" && t != "B")
                    {
                        Slots.Set(errors, Slots.CondFunction, IncorrectOperand(f.Name, t));
                        return;
                    }
                }

                break;
            case Functions.AttributeType:
                {
                    var t = StaticType(f.Args[1], attrs);
                    if (t != "S")
                    {
                        Slots.Set(errors, Slots.CondFunction, IncorrectOperand(f.Name, t ?? AllTypes));
                        return;
                    }

                    var name = Immediate(f.Args[1], attrs)!.S;
                    if (!AttrTypeNames.TryParse(name, out _))
                        Slots.Set(errors, Slots.CondFunction,
                            $"Invalid attribute type name found; type: {name}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}");
                    break;
                }

            case Functions.Size:
                {
                    var t = StaticType(f.Args[0], attrs);
                    if (t is "N" or "BOOL" or "NULL") Slots.Set(errors, Slots.CondFunction, IncorrectOperand(f.Name, t));
                    break;
                }
        }
    }

    private static string IncorrectOperand(string function, string type) =>
        $"Incorrect operand type for operator or function; operator or function: {function}, operand type: {type}";

    private static void CheckBetweenBounds(BetweenNode b, ExpressionAttributes attrs, string?[] errors)
    {
        var lo = Immediate(b.Low, attrs);
        var hi = Immediate(b.High, attrs);
        if (lo == null || hi == null) return;
        if (lo.Type != hi.Type)
        {
            Slots.Set(errors, Slots.CondFunction,
                $"The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {lo}, upper bound operand: AttributeValue: {hi}");
        }
        else if (Evaluator.Compare(lo, hi) is > 0)
        {
            Slots.Set(errors, Slots.CondFunction,
                $"The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {lo}, upper bound operand: AttributeValue: {hi}");
        }
    }

    // ---------------------------------------------------------------- update

    public static void BindUpdate(List<UpdateAction> actions, ExpressionAttributes attrs, string?[] errors)
    {
        if (AllTopLevel(actions)) BindTopLevelPaths(actions, attrs, errors);
        else BindPaths(actions, attrs, errors);
        foreach (var action in actions)
        {
            if (action.Kind is not (UpdateKind.Add or UpdateKind.Delete) || Immediate(action.Value!, attrs) is not { } v)
                continue;
            if (v.IsSet || (action.Kind == UpdateKind.Add && v.Type == AttrType.N)) continue;
            var typeName = v.Type switch
            {
                AttrType.S => "STRING",
                AttrType.N => "NUMBER",
                AttrType.B => "BINARY",
                AttrType.Null => "NULL",
                AttrType.Bool => "BOOLEAN",
                AttrType.L => "LIST",
                _ => "MAP",
            };
            Slots.Set(errors, Slots.UpdOperand,
                $"Incorrect operand type for operator or function; operator: {(action.Kind == UpdateKind.Add ? "ADD" : "DELETE")}, operand type: {typeName}");
        }
    }

    private static void BindPaths(List<UpdateAction> actions, ExpressionAttributes attrs, string?[] errors)
    {
        var paths = new List<object[]>(actions.Count);
        foreach (var action in actions)
        {
            var resolved = Resolve(action.Path, attrs, errors, Slots.UpdName);
            if (action.Value != null) BindUpdateOperand(action.Value, attrs, errors);
            if (resolved != null) paths.Add(resolved);
        }

        CheckOverlaps(paths, errors, Slots.UpdOverlap, Slots.UpdConflict);
    }

    private static bool AllTopLevel(List<UpdateAction> actions)
    {
        foreach (var a in actions)
            if (a.Path.Elements.Length != 1 || a.Path.Elements[0].Kind == PathElemKind.Index) return false;
        return actions.Count <= 16;
    }

    [ThreadStatic]
    private static string?[]? t_topLevelNames;

    /// <summary>
    /// <see cref="BindPaths"/> when every path is one attribute name (the common SET a = :v, b = :w): the same checks
    /// and messages, comparing names instead of building a path array per action. Two paths of one name each can
    /// overlap (the same name) but never conflict.
    /// </summary>
    private static void BindTopLevelPaths(List<UpdateAction> actions, ExpressionAttributes attrs, string?[] errors)
    {
        var names = t_topLevelNames ??= new string?[16];
        var count = 0;
        foreach (var action in actions)
        {
            var e = action.Path.Elements[0];
            string? name = e.Text!;
            if (e.Kind == PathElemKind.Placeholder)
            {
                if (!attrs.TryName(e.Text!, out var resolved))
                {
                    Slots.Set(errors, Slots.UpdName, UndefinedName(e.Text!));
                    name = null;
                }
                else name = resolved;
            }

            if (action.Value != null) BindUpdateOperand(action.Value, attrs, errors);
            if (name != null) names[count++] = name;
        }

        for (var j = 1; j < count; j++)
        {
            for (var i = 0; i < j; i++)
            {
                if (!string.Equals(names[i], names[j], StringComparison.Ordinal)) continue;
                Slots.Set(errors, Slots.UpdOverlap,
                    $"Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [{names[i]}], path two: [{names[j]}]");
                Array.Clear(names, 0, count);
                return;
            }
        }

        Array.Clear(names, 0, count);
    }

    private static void BindUpdateOperand(Node node, ExpressionAttributes attrs, string?[] errors)
    {
        switch (node)
        {
            case PathNode p:
                Resolve(p.Path, attrs, errors, Slots.UpdName);
                break;
            case ValueNode v:
                if (!attrs.TryValue(v.Name, out _)) Slots.Set(errors, Slots.UpdValue, UndefinedValue(v.Name));
                break;
            case ArithNode a:
                BindUpdateOperand(a.Left, attrs, errors);
                BindUpdateOperand(a.Right, attrs, errors);
                CheckImmediateTypes(a.Plus ? "+" : "-", AttrType.N, attrs, errors, a.Left, a.Right);
                break;
            case FuncNode f:
                foreach (var arg in f.Args) BindUpdateOperand(arg, attrs, errors);
                if (f.Name == Functions.ListAppend && f.Args.Length == 2)
                    CheckImmediateTypes(f.Name, AttrType.L, attrs, errors, f.Args);
                break;
        }
    }

    private static void CheckImmediateTypes(string op, AttrType expected, ExpressionAttributes attrs, string?[] errors, params Node[] args)
    {
        foreach (var arg in args)
        {
            if (Immediate(arg, attrs) is { } v && v.Type != expected)
            {
                Slots.Set(errors, Slots.UpdFunction, IncorrectOperand(op, AttrTypeNames.Name(v.Type)));
                return;
            }
        }
    }

    // ---------------------------------------------------------------- projection

    public static List<object[]> BindProjection(List<DocPath> paths, ExpressionAttributes attrs, string?[] errors)
    {
        var resolved = new List<object[]>(paths.Count);
        foreach (var p in paths)
            if (Resolve(p, attrs, errors, Slots.ProjName) is { } r) resolved.Add(r);
        CheckOverlaps(resolved, errors, Slots.ProjOverlap, Slots.ProjConflict);
        return resolved;
    }
}
