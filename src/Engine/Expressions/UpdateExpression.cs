using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Expressions;

/// <summary>
/// A compiled UpdateExpression or legacy AttributeUpdates. Immutable and shared between requests.
/// </summary>
public sealed class UpdateExpression
{
    private const string InvalidPath = "The document path provided in the update expression is invalid for update";
    private const string IncorrectType = "An operand in the update expression has an incorrect data type";
    private const string MissingOperand = "The provided expression refers to an attribute that does not exist in the item";
    private const string LegacyTypeMismatch = "Type mismatch for attribute to update";

    private readonly List<UpdateAction> _actions;

    internal UpdateExpression(List<UpdateAction> actions) => _actions = actions;

    /// <summary>
    /// The distinct top-level attribute names the update assigns or removes, in order of first appearance.
    /// The caller rejects key attributes ("Cannot update attribute X. This attribute is part of the key").
    /// </summary>
    public IReadOnlyList<string> GetTopLevelAttributeNames(ExpressionAttributes attributes)
    {
        var names = new List<string>(_actions.Count);
        foreach (var a in _actions)
        {
            var name = Evaluator.ElementName(a.Path.Elements[0], attributes);
            if (!names.Contains(name, StringComparer.Ordinal)) names.Add(name);
        }

        return names;
    }

    /// <summary>
    /// When every action SETs a top-level attribute to a placeholder's value or a literal (no document path, no
    /// function, no arithmetic, so nothing reads the item), the names and values, written from
    /// <paramref name="offset"/> on in new arrays of <paramref name="offset"/> + action count entries (the caller
    /// puts the key attributes first). Such an update can edit the encoded item without decoding it.
    /// </summary>
    public bool TryGetTopLevelSets(ExpressionAttributes attributes, int offset, out string[] names, out AttrValue[] values)
    {
        names = [];
        values = [];
        foreach (var a in _actions)
            if (a.Kind != UpdateKind.Set || a.Path.Elements.Length != 1 || a.Path.Elements[0].Kind == PathElemKind.Index || a.Value is not (ValueNode or LiteralNode)) return false;
        names = new string[offset + _actions.Count];
        values = new AttrValue[offset + _actions.Count];
        for (var i = 0; i < _actions.Count; i++)
        {
            var a = _actions[i];
            names[offset + i] = Evaluator.ElementName(a.Path.Elements[0], attributes);
            values[offset + i] = a.Value is ValueNode v ? attributes.Value(v.Name) : ((LiteralNode)a.Value!).Value;
        }

        return true;
    }

    /// <summary>
    /// True when every action takes something away (REMOVE, DELETE from a set): on an absent item such an update
    /// leaves nothing to write, and DynamoDB creates no item.
    /// </summary>
    public bool OnlyTakesAway
    {
        get
        {
            foreach (var a in _actions)
                if (a.Kind is not (UpdateKind.Remove or UpdateKind.Delete or UpdateKind.LegacyDelete)) return false;
            return true;
        }
    }

    /// <summary>
    /// Applies the update to a copy of <paramref name="item"/> (null: no item yet) and returns the new item.
    /// All operands are read from the original item. The input item and its values are never modified.
    /// Throws DynamoDB's ValidationException for runtime type errors and invalid document paths.
    /// </summary>
    public Dictionary<string, AttrValue> Apply(IReadOnlyDictionary<string, AttrValue>? item, ExpressionAttributes attributes)
    {
        var result = item == null
            ? new Dictionary<string, AttrValue>(StringComparer.Ordinal)
            : new Dictionary<string, AttrValue>(item, StringComparer.Ordinal);

        // SET operands see the item as it was before the update.
        var setValues = new AttrValue?[_actions.Count];
        for (var i = 0; i < _actions.Count; i++)
            if (_actions[i].Kind == UpdateKind.Set) setValues[i] = SetOperand(_actions[i].Value!, item, attributes);

        for (var i = 0; i < _actions.Count; i++)
            if (_actions[i].Kind == UpdateKind.Set) Assign(result, _actions[i].Path, setValues[i]!, attributes);

        // Remove deeper / later list elements first so indexes keep referring to the original list.
        var removes = _actions.Where(a => a.Kind == UpdateKind.Remove).Select(a => a.Path).ToList();
        if (removes.Count > 1) removes.Sort((a, b) => ComparePathsDescending(a, b));
        foreach (var path in removes) Remove(result, path, attributes);

        foreach (var action in _actions)
        {
            switch (action.Kind)
            {
                case UpdateKind.Add:
                case UpdateKind.LegacyAdd:
                    AddAction(result, action, attributes);
                    break;
                case UpdateKind.Delete:
                case UpdateKind.LegacyDelete:
                    DeleteAction(result, action, attributes);
                    break;
            }
        }

        return result;
    }

    private static int ComparePathsDescending(DocPath a, DocPath b)
    {
        var n = Math.Min(a.Elements.Length, b.Elements.Length);
        for (var i = 0; i < n; i++)
        {
            var x = a.Elements[i];
            var y = b.Elements[i];
            if (x.Kind == PathElemKind.Index && y.Kind == PathElemKind.Index && x.Index != y.Index)
                return y.Index.CompareTo(x.Index);
        }

        return b.Elements.Length.CompareTo(a.Elements.Length);
    }

    private static AttrValue SetOperand(Node n, IReadOnlyDictionary<string, AttrValue>? item, ExpressionAttributes attrs)
    {
        switch (n)
        {
            case PathNode p:
                return Evaluator.Get(item, p.Path, attrs) ?? throw DynamoErrors.Validation(MissingOperand);
            case ValueNode v:
                return attrs.Value(v.Name);
            case LiteralNode l:
                return l.Value;
            case ArithNode a:
                {
                    var x = SetOperand(a.Left, item, attrs);
                    var y = SetOperand(a.Right, item, attrs);
                    if (x.Type != AttrType.N || y.Type != AttrType.N) throw DynamoErrors.Validation(IncorrectType);
                    var status = a.Plus
                        ? DynamoNumber.TryAdd(x.AsNumber(), y.AsNumber(), out var r)
                        : DynamoNumber.TrySubtract(x.AsNumber(), y.AsNumber(), out r);
                    return Evaluator.NumberResult(status, r);
                }

            case FuncNode { Name: Functions.IfNotExists } f:
                return Evaluator.Get(item, ((PathNode)f.Args[0]).Path, attrs) ?? SetOperand(f.Args[1], item, attrs);
            case FuncNode { Name: Functions.ListAppend } f:
                {
                    var x = SetOperand(f.Args[0], item, attrs);
                    var y = SetOperand(f.Args[1], item, attrs);
                    if (x.Type != AttrType.L || y.Type != AttrType.L) throw DynamoErrors.Validation(IncorrectType);
                    var list = new List<AttrValue>(x.L.Count + y.L.Count);
                    list.AddRange(x.L);
                    list.AddRange(y.L);
                    return AttrValue.FromL(list);
                }

            default:
                throw DynamoErrors.Validation(IncorrectType);
        }
    }

    private static void Assign(Dictionary<string, AttrValue> root, DocPath path, AttrValue value, ExpressionAttributes attrs)
    {
        var name = Evaluator.ElementName(path.Elements[0], attrs);
        if (path.Elements.Length == 1)
        {
            root[name] = value;
            return;
        }

        if (!root.TryGetValue(name, out var current)) throw DynamoErrors.Validation(InvalidPath);
        root[name] = AssignIn(current, path.Elements, 1, value, attrs);
    }

    private static AttrValue AssignIn(AttrValue container, PathElem[] elems, int i, AttrValue value, ExpressionAttributes attrs)
    {
        var e = elems[i];
        var last = i == elems.Length - 1;
        if (e.Kind == PathElemKind.Index)
        {
            if (container.Type != AttrType.L) throw DynamoErrors.Validation(InvalidPath);
            var list = new List<AttrValue>(container.L);
            if (last)
            {
                if (e.Index < list.Count) list[e.Index] = value;
                else list.Add(value);
            }
            else
            {
                if (e.Index >= list.Count) throw DynamoErrors.Validation(InvalidPath);
                list[e.Index] = AssignIn(list[e.Index], elems, i + 1, value, attrs);
            }

            return AttrValue.FromL(list);
        }

        if (container.Type != AttrType.M) throw DynamoErrors.Validation(InvalidPath);
        var name = Evaluator.ElementName(e, attrs);
        var map = new Dictionary<string, AttrValue>((Dictionary<string, AttrValue>)container.M, StringComparer.Ordinal);
        if (last)
        {
            map[name] = value;
        }
        else
        {
            if (!map.TryGetValue(name, out var child)) throw DynamoErrors.Validation(InvalidPath);
            map[name] = AssignIn(child, elems, i + 1, value, attrs);
        }

        return AttrValue.FromM(map);
    }

    private static void Remove(Dictionary<string, AttrValue> root, DocPath path, ExpressionAttributes attrs)
    {
        var name = Evaluator.ElementName(path.Elements[0], attrs);
        if (path.Elements.Length == 1)
        {
            root.Remove(name);
            return;
        }

        if (!root.TryGetValue(name, out var current)) throw DynamoErrors.Validation(InvalidPath);
        if (RemoveIn(current, path.Elements, 1, attrs) is { } updated) root[name] = updated;
    }

    /// <summary>Returns the container without the element, or null when there was nothing to remove.</summary>
    private static AttrValue? RemoveIn(AttrValue container, PathElem[] elems, int i, ExpressionAttributes attrs)
    {
        var e = elems[i];
        var last = i == elems.Length - 1;
        if (e.Kind == PathElemKind.Index)
        {
            if (container.Type != AttrType.L) throw DynamoErrors.Validation(InvalidPath);
            if (e.Index >= container.L.Count)
            {
                if (last) return null;
                throw DynamoErrors.Validation(InvalidPath);
            }

            var list = new List<AttrValue>(container.L);
            if (last)
            {
                list.RemoveAt(e.Index);
            }
            else
            {
                var child = RemoveIn(list[e.Index], elems, i + 1, attrs);
                if (child == null) return null;
                list[e.Index] = child;
            }

            return AttrValue.FromL(list);
        }

        if (container.Type != AttrType.M) throw DynamoErrors.Validation(InvalidPath);
        var name = Evaluator.ElementName(e, attrs);
        if (!container.M.TryGetValue(name, out var existing))
        {
            if (last) return null;
            throw DynamoErrors.Validation(InvalidPath);
        }

        var map = new Dictionary<string, AttrValue>((Dictionary<string, AttrValue>)container.M, StringComparer.Ordinal);
        if (last)
        {
            map.Remove(name);
        }
        else
        {
            var child = RemoveIn(existing, elems, i + 1, attrs);
            if (child == null) return null;
            map[name] = child;
        }

        return AttrValue.FromM(map);
    }

    private static AttrValue OperandValue(UpdateAction action, ExpressionAttributes attrs) => action.Value switch
    {
        ValueNode v => attrs.Value(v.Name),
        LiteralNode l => l.Value,
        _ => throw DynamoErrors.Validation(IncorrectType),
    };

    private static void AddAction(Dictionary<string, AttrValue> root, UpdateAction action, ExpressionAttributes attrs)
    {
        var value = OperandValue(action, attrs);
        var legacy = action.Kind == UpdateKind.LegacyAdd;
        var existing = Evaluator.Get(root, action.Path, attrs);
        AttrValue updated;
        if (existing == null)
        {
            updated = value;
        }
        else if (existing.Type != value.Type)
        {
            throw DynamoErrors.Validation(legacy ? LegacyTypeMismatch : IncorrectType);
        }
        else if (value.Type == AttrType.N)
        {
            updated = Evaluator.NumberResult(DynamoNumber.TryAdd(existing.AsNumber(), value.AsNumber(), out var sum), sum);
        }
        else if (value.IsSet)
        {
            updated = SetUnion(existing, value);
        }
        else if (legacy && value.Type == AttrType.L)
        {
            var list = new List<AttrValue>(existing.L.Count + value.L.Count);
            list.AddRange(existing.L);
            list.AddRange(value.L);
            updated = AttrValue.FromL(list);
        }
        else
        {
            throw DynamoErrors.Validation(legacy ? LegacyTypeMismatch : IncorrectType);
        }

        Assign(root, action.Path, updated, attrs);
    }

    private static void DeleteAction(Dictionary<string, AttrValue> root, UpdateAction action, ExpressionAttributes attrs)
    {
        var value = OperandValue(action, attrs);
        var existing = Evaluator.Get(root, action.Path, attrs);
        if (existing == null) return;
        if (existing.Type != value.Type || !value.IsSet)
            throw DynamoErrors.Validation(action.Kind == UpdateKind.LegacyDelete ? LegacyTypeMismatch : IncorrectType);
        var remaining = SetDifference(existing, value);
        if (remaining == null) Remove(root, action.Path, attrs);
        else Assign(root, action.Path, remaining, attrs);
    }

    private static AttrValue SetUnion(AttrValue a, AttrValue b)
    {
        if (a.Type == AttrType.BS)
        {
            var seen = new HashSet<byte[]>(a.BS, ByteArrayComparer.Instance);
            var list = new List<byte[]>(a.BS);
            foreach (var x in b.BS)
                if (seen.Add(x)) list.Add(x);
            return AttrValue.FromBS(list);
        }

        var strings = new HashSet<string>(a.StringSet, StringComparer.Ordinal);
        var values = new List<string>(a.StringSet);
        foreach (var x in b.StringSet)
            if (strings.Add(x)) values.Add(x);
        return a.Type == AttrType.SS ? AttrValue.FromSS(values) : AttrValue.FromNS(values);
    }

    private static AttrValue? SetDifference(AttrValue a, AttrValue b)
    {
        if (a.Type == AttrType.BS)
        {
            var remove = new HashSet<byte[]>(b.BS, ByteArrayComparer.Instance);
            var list = a.BS.Where(x => !remove.Contains(x)).ToList();
            return list.Count == 0 ? null : AttrValue.FromBS(list);
        }

        var removeStrings = new HashSet<string>(b.StringSet, StringComparer.Ordinal);
        var values = a.StringSet.Where(x => !removeStrings.Contains(x)).ToList();
        if (values.Count == 0) return null;
        return a.Type == AttrType.SS ? AttrValue.FromSS(values) : AttrValue.FromNS(values);
    }
}
