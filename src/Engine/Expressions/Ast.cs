using Serverless.Engine.Model;

namespace Serverless.Engine.Expressions;

internal enum PathElemKind : byte
{
    Name,
    Placeholder,
    Index,
}

/// <summary>One step of a document path: a literal name, a #placeholder, or a list index.</summary>
internal readonly record struct PathElem(PathElemKind Kind, string? Text, int Index)
{
    public static PathElem OfName(string name) => new(PathElemKind.Name, name, -1);
}

/// <summary>A document path with placeholders left unresolved.</summary>
internal sealed class DocPath(PathElem[] elements)
{
    public PathElem[] Elements { get; } = elements;
}

internal abstract class Node
{
    /// <summary>Set while parsing only: how many parentheses directly enclose this node.</summary>
    public int Parens { get; set; }
}

internal sealed class PathNode(DocPath path) : Node
{
    public DocPath Path { get; } = path;
}

internal sealed class ValueNode(string name) : Node
{
    public string Name { get; } = name;
}

/// <summary>A constant operand, used by the legacy (Expected / AttributeUpdates) conversions.</summary>
internal sealed class LiteralNode(AttrValue value) : Node
{
    public AttrValue Value { get; } = value;
}

internal sealed class FuncNode(string name, Node[] args) : Node
{
    public string Name { get; } = name;
    public Node[] Args { get; } = args;
}

internal sealed class ArithNode(bool plus, Node left, Node right) : Node
{
    public bool Plus { get; } = plus;
    public Node Left { get; } = left;
    public Node Right { get; } = right;
}

internal enum CompareOp : byte
{
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

internal sealed class CompareNode(CompareOp op, Node left, Node right) : Node
{
    public CompareOp Op { get; } = op;
    public Node Left { get; } = left;
    public Node Right { get; } = right;

    public static string Symbol(CompareOp op) => op switch
    {
        CompareOp.Eq => "=",
        CompareOp.Ne => "<>",
        CompareOp.Lt => "<",
        CompareOp.Le => "<=",
        CompareOp.Gt => ">",
        _ => ">=",
    };
}

internal sealed class BetweenNode(Node value, Node low, Node high) : Node
{
    public Node Value { get; } = value;
    public Node Low { get; } = low;
    public Node High { get; } = high;
}

internal sealed class InNode(Node value, Node[] list) : Node
{
    public Node Value { get; } = value;
    public Node[] List { get; } = list;
}

internal sealed class AndNode(Node left, Node right) : Node
{
    public Node Left { get; } = left;
    public Node Right { get; } = right;
}

internal sealed class OrNode(Node left, Node right) : Node
{
    public Node Left { get; } = left;
    public Node Right { get; } = right;
}

/// <summary>Always true: an empty legacy Expected map.</summary>
internal sealed class TrueNode : Node;

internal sealed class NotNode(Node operand) : Node
{
    public Node Operand { get; } = operand;
}

internal enum UpdateKind : byte
{
    Set,
    Remove,
    Add,
    Delete,

    /// <summary>Legacy AttributeUpdates ADD: also appends lists; type mismatches use the legacy message.</summary>
    LegacyAdd,

    /// <summary>Legacy AttributeUpdates DELETE with a value.</summary>
    LegacyDelete,
}

internal sealed class UpdateAction(UpdateKind kind, DocPath path, Node? value)
{
    public UpdateKind Kind { get; } = kind;
    public DocPath Path { get; } = path;
    public Node? Value { get; } = value;
}

internal static class Functions
{
    public const string AttributeExists = "attribute_exists";
    public const string AttributeNotExists = "attribute_not_exists";
    public const string AttributeType = "attribute_type";
    public const string BeginsWith = "begins_with";
    public const string Contains = "contains";
    public const string Size = "size";
    public const string IfNotExists = "if_not_exists";
    public const string ListAppend = "list_append";

    public static bool IsConditionFunction(string name) => name is AttributeExists or AttributeNotExists or AttributeType
        or BeginsWith or Contains or Size;

    public static bool IsUpdateFunction(string name) => name is IfNotExists or ListAppend;

    public static int Arity(string name) => name is AttributeExists or AttributeNotExists or Size ? 1 : 2;

    /// <summary>A function that yields a boolean (a condition) rather than a value.</summary>
    public static bool IsBoolean(string name) => name is AttributeExists or AttributeNotExists or AttributeType
        or BeginsWith or Contains;
}
