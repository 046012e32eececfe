using Serverless.Engine.Model;

namespace Serverless.Engine.Expressions;

/// <summary>
/// A compiled condition (ConditionExpression, FilterExpression, or legacy Expected). Immutable and shared between
/// requests; the request's placeholders are bound at evaluation through <see cref="ExpressionAttributes"/>.
/// </summary>
public sealed class ConditionExpression
{
    internal ConditionExpression(Node root) => Root = root;

    internal Node Root { get; }

    /// <summary>
    /// Evaluates the condition. <paramref name="item"/> is null when there is no item. Type mismatches are false,
    /// never errors. Neither the item nor the tree is modified.
    /// </summary>
    public bool Evaluate(IReadOnlyDictionary<string, AttrValue>? item, ExpressionAttributes attributes) =>
        Evaluator.Condition(Root, item, attributes);
}
