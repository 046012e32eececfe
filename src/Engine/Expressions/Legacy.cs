using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Expressions;

/// <summary>One entry of the legacy <c>Expected</c> map.</summary>
public sealed record ExpectedCondition(
    string Name,
    bool? Exists,
    AttrValue? Value,
    string? ComparisonOperator,
    IReadOnlyList<AttrValue>? AttributeValueList);

/// <summary>One entry of the legacy <c>AttributeUpdates</c> map. A null action means PUT.</summary>
public sealed record AttributeUpdate(string Name, string? Action, AttrValue? Value);

/// <summary>
/// Converts the legacy request parameters (Expected + ConditionalOperator, AttributeUpdates, AttributesToGet) into the
/// same compiled trees the expression language produces, validating them with AWS's messages. Evaluate the results
/// with <see cref="ExpressionAttributes.Empty"/>.
/// </summary>
public static class LegacyParameters
{
    private const string Invalid = "One or more parameter values were invalid: ";

    /// <summary>Converts <c>Expected</c>; <paramref name="conditionalOperator"/> is AND (default) or OR.</summary>
    public static ConditionExpression FromExpected(IReadOnlyList<ExpectedCondition> expected, string? conditionalOperator)
    {
        Node? root = null;
        var or = conditionalOperator == "OR";
        foreach (var c in expected)
        {
            var node = Convert(c);
            root = root == null ? node : or ? new OrNode(root, node) : new AndNode(root, node);
        }

        return new ConditionExpression(root ?? new TrueNode());
    }

    private static Node Convert(ExpectedCondition c)
    {
        var path = new PathNode(new DocPath([PathElem.OfName(c.Name)]));
        if (c.AttributeValueList != null && c.Value != null)
            throw DynamoErrors.Validation(Invalid + "Value and AttributeValueList cannot be used together for Attribute: " + c.Name);

        if (c.ComparisonOperator != null)
        {
            var op = c.ComparisonOperator;
            if (c.Exists != null)
                throw DynamoErrors.Validation(Invalid + "Exists and ComparisonOperator cannot be used together for Attribute: " + c.Name);
            if (op != "NULL" && op != "NOT_NULL" && c.AttributeValueList == null && c.Value == null)
                throw DynamoErrors.Validation(Invalid + $"Value or AttributeValueList must be used with ComparisonOperator: {op} for Attribute: {c.Name}");
            var values = c.AttributeValueList ?? (c.Value != null ? [c.Value] : []);
            var countOk = op switch
            {
                "EQ" or "NE" or "LE" or "LT" or "GE" or "GT" or "CONTAINS" or "NOT_CONTAINS" or "BEGINS_WITH" => values.Count == 1,
                "NULL" or "NOT_NULL" => values.Count == 0,
                "IN" => values.Count > 0,
                "BETWEEN" => values.Count == 2,
                _ => false,
            };
            if (!countOk)
                throw DynamoErrors.Validation(Invalid + $"Invalid number of argument(s) for the {op} ComparisonOperator");
            if (values.Any(v => v.Type != values[0].Type))
                throw DynamoErrors.Validation(Invalid + "AttributeValues inside AttributeValueList must be of same type");
            foreach (var v in values)
            {
                var allowed = op switch
                {
                    // EQ and NE take every data type, lists and maps included (AWS's Condition reference).
                    "EQ" or "NE" => true,
                    "BEGINS_WITH" => v.Type is AttrType.S or AttrType.B,
                    _ => v.Type is AttrType.S or AttrType.N or AttrType.B,
                };
                if (!allowed)
                    throw DynamoErrors.Validation(Invalid + $"ComparisonOperator {op} is not valid for {AttrTypeNames.Name(v.Type)} AttributeValue type");
            }

            if (op == "BETWEEN" && Evaluator.Compare(values[0], values[1]) is > 0)
                throw DynamoErrors.Validation("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound");

            Node Lit(int i) => new LiteralNode(values[i]);
            return op switch
            {
                "EQ" => new CompareNode(CompareOp.Eq, path, Lit(0)),
                "NE" => new CompareNode(CompareOp.Ne, path, Lit(0)),
                "LE" => new CompareNode(CompareOp.Le, path, Lit(0)),
                "LT" => new CompareNode(CompareOp.Lt, path, Lit(0)),
                "GE" => new CompareNode(CompareOp.Ge, path, Lit(0)),
                "GT" => new CompareNode(CompareOp.Gt, path, Lit(0)),
                "NOT_NULL" => new FuncNode(Functions.AttributeExists, [path]),
                "NULL" => new FuncNode(Functions.AttributeNotExists, [path]),
                "CONTAINS" => new FuncNode(Functions.Contains, [path, Lit(0)]),
                "NOT_CONTAINS" => new NotNode(new FuncNode(Functions.Contains, [path, Lit(0)])),
                "BEGINS_WITH" => new FuncNode(Functions.BeginsWith, [path, Lit(0)]),
                "IN" => new InNode(path, values.Select(v => (Node)new LiteralNode(v)).ToArray()),
                _ => new BetweenNode(path, Lit(0), Lit(1)),
            };
        }

        if (c.AttributeValueList != null)
            throw DynamoErrors.Validation(Invalid + "AttributeValueList can only be used with a ComparisonOperator for Attribute: " + c.Name);
        var exists = c.Exists ?? true;
        if (exists && c.Value == null)
            throw DynamoErrors.Validation(Invalid + $"Value must be provided when Exists is {(c.Exists == null ? "null" : "true")} for Attribute: {c.Name}");
        if (!exists && c.Value != null)
            throw DynamoErrors.Validation(Invalid + "Value cannot be used when Exists is false for Attribute: " + c.Name);
        return exists
            ? new CompareNode(CompareOp.Eq, path, new LiteralNode(c.Value!))
            : new FuncNode(Functions.AttributeNotExists, [path]);
    }

    /// <summary>Converts <c>AttributeUpdates</c> (PUT, ADD, DELETE).</summary>
    public static UpdateExpression FromAttributeUpdates(IReadOnlyList<AttributeUpdate> updates)
    {
        var actions = new List<UpdateAction>(updates.Count);
        foreach (var u in updates)
        {
            if (AttrJson.IsNameTooLarge(u.Name)) throw DynamoErrors.Validation(AttrJson.NameTooLarge);
            var action = u.Action ?? "PUT";
            var path = new DocPath([PathElem.OfName(u.Name)]);
            if (u.Value == null)
            {
                if (action != "DELETE")
                    throw DynamoErrors.Validation(Invalid + "Only DELETE action is allowed when no attribute value is specified");
                actions.Add(new UpdateAction(UpdateKind.Remove, path, null));
                continue;
            }

            var type = AttrTypeNames.Name(u.Value.Type);
            switch (action)
            {
                case "DELETE":
                    if (!u.Value.IsSet)
                        throw DynamoErrors.Validation(Invalid + "DELETE action with value is not supported for the type " + type);
                    actions.Add(new UpdateAction(UpdateKind.LegacyDelete, path, new LiteralNode(u.Value)));
                    break;
                case "ADD":
                    if (!u.Value.IsSet && u.Value.Type is not (AttrType.N or AttrType.L))
                        throw DynamoErrors.Validation(Invalid + "ADD action is not supported for the type " + type);
                    actions.Add(new UpdateAction(UpdateKind.LegacyAdd, path, new LiteralNode(u.Value)));
                    break;
                default:
                    actions.Add(new UpdateAction(UpdateKind.Set, path, new LiteralNode(u.Value)));
                    break;
            }
        }

        return new UpdateExpression(actions);
    }

    /// <summary>Converts <c>AttributesToGet</c> (top-level names, taken literally).</summary>
    public static ProjectionExpression FromAttributesToGet(IReadOnlyList<string> names)
    {
        foreach (var n in names)
            if (AttrJson.IsNameTooLarge(n)) throw DynamoErrors.Validation(AttrJson.NameTooLarge);
        return new(names.Distinct(StringComparer.Ordinal).Select(n => new DocPath([PathElem.OfName(n)])).ToList());
    }
}
