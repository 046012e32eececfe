using System.Collections.Concurrent;
using System.Text;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Expressions;

/// <summary>Operator of one key condition of a KeyConditionExpression.</summary>
public enum KeyConditionOperator
{
    EQ,
    LT,
    LE,
    GT,
    GE,
    BETWEEN,
    BEGINS_WITH,
}

/// <summary>One condition on a key attribute: <c>name op values</c> (two values for BETWEEN, else one).</summary>
public sealed record KeyCondition(string AttributeName, KeyConditionOperator Operator, IReadOnlyList<AttrValue> Values);

/// <summary>
/// Entry point: compiles expression text (cached per distinct text, thread-safe) and checks it against the request's
/// <see cref="ExpressionAttributes"/>, throwing DynamoDB's ValidationException with AWS's message on any error.
/// </summary>
public static class ExpressionParser
{
    /// <summary>Maximum expression size in UTF-8 bytes.</summary>
    public const int MaxExpressionBytes = 4096;

    private const int CacheCapacity = 4096;
    private static readonly ConcurrentDictionary<(byte Kind, string Text), object> Cache = new();

    private sealed record Parsed(object Tree, string?[] Errors);

    /// <summary>Compiles a ConditionExpression.</summary>
    public static ConditionExpression ParseCondition(string text, ExpressionAttributes attributes) =>
        CompileCondition(text, attributes, "ConditionExpression", 0);

    /// <summary>Compiles a FilterExpression (same language as conditions).</summary>
    public static ConditionExpression ParseFilter(string text, ExpressionAttributes attributes) =>
        CompileCondition(text, attributes, "FilterExpression", 1);

    /// <summary>Compiles an UpdateExpression.</summary>
    public static UpdateExpression ParseUpdate(string text, ExpressionAttributes attributes)
    {
        const string label = "UpdateExpression";
        var parsed = GetOrParse(text, label, 2, p => p.ParseUpdateRoot(), update: true);
        var errors = ErrorSlots(parsed.Errors);
        var actions = (List<UpdateAction>)parsed.Tree;
        Binder.BindUpdate(actions, attributes, errors);
        ThrowFirst(errors, label);
        return new UpdateExpression(actions);
    }

    /// <summary>Compiles a ProjectionExpression.</summary>
    public static ProjectionExpression ParseProjection(string text, ExpressionAttributes attributes)
    {
        const string label = "ProjectionExpression";
        var parsed = GetOrParse(text, label, 3, p => p.ParseProjectionRoot(), projection: true);
        var errors = ErrorSlots(parsed.Errors);
        var paths = (List<DocPath>)parsed.Tree;
        Binder.BindProjection(paths, attributes, errors);
        ThrowFirst(errors, label);
        return new ProjectionExpression(paths);
    }

    /// <summary>
    /// Compiles a KeyConditionExpression into its one or two key conditions (names resolved, values bound).
    /// Matching them to the key schema ("Query condition missed key schema element", ...) is the caller's job.
    /// </summary>
    public static IReadOnlyList<KeyCondition> ParseKeyCondition(string text, ExpressionAttributes attributes)
    {
        var condition = CompileCondition(text, attributes, "KeyConditionExpression", 4);
        var result = new List<KeyCondition>(2);
        CollectKeyConditions(condition.Root, attributes, result);
        return result;
    }

    private static ConditionExpression CompileCondition(string text, ExpressionAttributes attributes, string label, byte kind)
    {
        var parsed = GetOrParse(text, label, kind, p => p.ParseConditionRoot());
        var errors = ErrorSlots(parsed.Errors);
        var root = (Node)parsed.Tree;
        Binder.BindCondition(root, attributes, errors);
        ThrowFirst(errors, label);
        return new ConditionExpression(root);
    }

    [ThreadStatic]
    private static string?[]?[]? t_errorSlots;

    /// <summary>
    /// A copy of the parse's error slots for binding to add to: this thread's array of that length, since compiling
    /// is synchronous and the slots are read (by <see cref="ThrowFirst"/>) before the next compile on the thread.
    /// </summary>
    private static string?[] ErrorSlots(string?[] parsed)
    {
        var cache = t_errorSlots ??= new string?[]?[Slots.Count + 1];
        if (parsed.Length >= cache.Length) return (string?[])parsed.Clone();
        var slots = cache[parsed.Length] ??= new string?[parsed.Length];
        parsed.CopyTo(slots, 0);
        return slots;
    }

    private static void ThrowFirst(string?[] errors, string label)
    {
        if (Slots.First(errors) is { } message) throw DynamoErrors.Validation($"Invalid {label}: {message}");
    }

    private static Parsed GetOrParse(string text, string label, byte kind, Func<Parser, object> parse,
        bool update = false, bool projection = false)
    {
        var key = (kind, text);
        if (!Cache.TryGetValue(key, out var entry))
        {
            entry = ParseUncached(text, label, parse, update, projection);
            if (Cache.Count >= CacheCapacity) Cache.Clear();
            Cache.TryAdd(key, entry);
        }

        if (entry is string error) throw DynamoErrors.Validation(error);
        return (Parsed)entry;
    }

    private static object ParseUncached(string text, string label, Func<Parser, object> parse, bool update, bool projection)
    {
        if (text.Length == 0) return $"Invalid {label}: The expression can not be empty;";
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > MaxExpressionBytes)
        {
            var suffix = label is "ConditionExpression" or "FilterExpression" ? " expression size: " + bytes : "";
            return $"Invalid {label}: Expression size has exceeded the maximum allowed size;{suffix}";
        }

        try
        {
            var parser = new Parser(text, label, update, projection);
            if (parser.IsEmpty) return $"Invalid {label}: The expression can not be empty;";
            var tree = parse(parser);
            return new Parsed(tree, parser.Errors);
        }
        catch (DynamoException e)
        {
            return e.Message;
        }
    }

    // ---------------------------------------------------------------- key conditions

    private static void CollectKeyConditions(Node node, ExpressionAttributes attrs, List<KeyCondition> result)
    {
        switch (node)
        {
            case AndNode a:
                CollectKeyConditions(a.Left, attrs, result);
                CollectKeyConditions(a.Right, attrs, result);
                return;
            case OrNode:
                throw InvalidOperator("OR");
            case NotNode:
                throw InvalidOperator("NOT");
            case InNode:
                throw InvalidOperator("IN");
            case CompareNode { Op: CompareOp.Ne }:
                throw InvalidOperator("<>");
            case FuncNode { Name: Functions.Size }:
                throw DynamoErrors.Validation("KeyConditionExpressions cannot contain nested operations");
            case FuncNode f when f.Name != Functions.BeginsWith:
                throw InvalidOperator(f.Name);
        }

        Node[] args;
        KeyConditionOperator op;
        switch (node)
        {
            case CompareNode c:
                args = [c.Left, c.Right];
                op = c.Op switch
                {
                    CompareOp.Eq => KeyConditionOperator.EQ,
                    CompareOp.Lt => KeyConditionOperator.LT,
                    CompareOp.Le => KeyConditionOperator.LE,
                    CompareOp.Gt => KeyConditionOperator.GT,
                    _ => KeyConditionOperator.GE,
                };
                break;
            case BetweenNode b:
                if (b.Value is not PathNode)
                    throw DynamoErrors.Validation(
                        "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand");
                args = [b.Value, b.Low, b.High];
                op = KeyConditionOperator.BETWEEN;
                break;
            default:
                var fn = (FuncNode)node;
                if (fn.Args[0] is not PathNode)
                    throw DynamoErrors.Validation(
                        "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand");
                args = fn.Args;
                op = KeyConditionOperator.BEGINS_WITH;
                break;
        }

        string? name = null;
        var nameIndex = -1;
        var values = new List<AttrValue>(2);
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case PathNode p:
                    if (name != null)
                        throw DynamoErrors.Validation(
                            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition");
                    if (p.Path.Elements.Length > 1)
                        throw DynamoErrors.Validation("KeyConditionExpressions cannot have conditions on nested attributes");
                    name = Evaluator.ElementName(p.Path.Elements[0], attrs);
                    nameIndex = i;
                    break;
                case FuncNode:
                    throw DynamoErrors.Validation("KeyConditionExpressions cannot contain nested operations");
                default:
                    values.Add(Evaluator.Operand(args[i], null, attrs)!);
                    break;
            }
        }

        if (name == null)
            throw DynamoErrors.Validation("Invalid condition in KeyConditionExpression: No key attribute specified");
        if (result.Any(k => k.AttributeName == name))
            throw DynamoErrors.Validation("KeyConditionExpressions must only contain one condition per key");
        if (nameIndex != 0)
        {
            op = op switch
            {
                KeyConditionOperator.LT => KeyConditionOperator.GT,
                KeyConditionOperator.LE => KeyConditionOperator.GE,
                KeyConditionOperator.GT => KeyConditionOperator.LT,
                KeyConditionOperator.GE => KeyConditionOperator.LE,
                _ => op,
            };
        }

        result.Add(new KeyCondition(name, op, values));
    }

    private static DynamoException InvalidOperator(string op) =>
        DynamoErrors.Validation("Invalid operator used in KeyConditionExpression: " + op);
}
