using Serverless.Engine.Expressions;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Operations;

/// <summary>
/// The key conditions of a Query on a global index with a multi-attribute key: equality on every partition
/// attribute, then the sort attributes from the left, each by equality except the last one used, which may take
/// any key condition (<c>&lt; &lt;= &gt; &gt;= BETWEEN begins_with</c>).
/// </summary>
internal static class MultiAttributeQuery
{
    /// <summary>The matched conditions: the partition value to encode, the equal leading sort values, and the last sort condition.</summary>
    internal sealed record Matched(AttrValue Partition, List<AttrValue> Equal, KeyCondition? Last);

    public static Matched Match(IReadOnlyList<KeyCondition> conditions, IndexDefinition d, bool legacy)
    {
        var hashKeys = d.HashKeys;
        var rangeKeys = d.RangeKeys;
        var hashValues = new AttrValue[hashKeys.Length];
        for (var i = 0; i < hashKeys.Length; i++)
        {
            var c = Find(conditions, hashKeys[i].Name)
                ?? throw DynamoErrors.Validation("Query condition missed key schema element: " + hashKeys[i].Name);
            if (c.Operator != KeyConditionOperator.EQ) throw DynamoErrors.Validation("Query key condition not supported");
            var v = c.Values[0];
            if (AttrTypeNames.Name(v.Type) != hashKeys[i].Type)
                throw DynamoErrors.Validation("One or more parameter values were invalid: Condition parameter type does not match schema type");
            Query.CheckNotEmpty(hashKeys[i].Name, v);
            hashValues[i] = v;
        }

        // Sort attributes from the left: equalities extend the prefix; the first other operator ends it.
        var used = hashKeys.Length;
        var equal = new List<AttrValue>(rangeKeys.Length);
        KeyCondition? last = null;
        var k = 0;
        for (; k < rangeKeys.Length; k++)
        {
            var c = Find(conditions, rangeKeys[k].Name);
            if (c == null) break;
            used++;
            Query.CheckSortCondition(c, rangeKeys[k], legacy);
            if (c.Operator != KeyConditionOperator.EQ || k == rangeKeys.Length - 1 || Find(conditions, rangeKeys[k + 1].Name) == null)
            {
                last = c;
                k++;
                break;
            }

            equal.Add(c.Values[0]);
        }

        if (used != conditions.Count)
        {
            // A condition on a later sort attribute while an earlier one has none, or after a range condition.
            for (var j = k; j < rangeKeys.Length; j++)
            {
                if (Find(conditions, rangeKeys[j].Name) == null) continue;
                if (last is { Operator: not KeyConditionOperator.EQ }) throw DynamoErrors.Validation("Query key condition not supported");
                throw DynamoErrors.Validation("Query condition missed key schema element: " + rangeKeys[k].Name);
            }

            throw DynamoErrors.Validation("Query key condition not supported");
        }

        return new Matched(MultiAttributeKey.Partition(hashValues), equal, last);
    }

    private static KeyCondition? Find(IReadOnlyList<KeyCondition> conditions, string name)
    {
        foreach (var c in conditions)
        {
            if (c.AttributeName == name) return c;
        }

        return null;
    }
}
