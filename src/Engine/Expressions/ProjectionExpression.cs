using Serverless.Engine.Model;

namespace Serverless.Engine.Expressions;

/// <summary>A compiled ProjectionExpression or legacy AttributesToGet. Immutable and shared between requests.</summary>
public sealed class ProjectionExpression
{
    private readonly List<DocPath> _paths;

    internal ProjectionExpression(List<DocPath> paths) => _paths = paths;

    /// <summary>The distinct top-level attribute names the projection reads, in order of first appearance.</summary>
    public IReadOnlyList<string> GetTopLevelAttributeNames(ExpressionAttributes attributes) =>
        _paths.Select(p => Evaluator.ElementName(p.Elements[0], attributes)).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// Builds the projected item: nested paths keep their structure, list indexes pick elements and the picked
    /// elements are compacted into a shorter list in index order. Missing paths are left out.
    /// </summary>
    public Dictionary<string, AttrValue> Apply(IReadOnlyDictionary<string, AttrValue> item, ExpressionAttributes attributes)
    {
        var result = new Dictionary<string, AttrValue>(StringComparer.Ordinal);
        var resolved = new List<object[]>(_paths.Count);
        foreach (var p in _paths)
        {
            var r = new object[p.Elements.Length];
            for (var i = 0; i < r.Length; i++)
            {
                var e = p.Elements[i];
                r[i] = e.Kind == PathElemKind.Index ? e.Index : Evaluator.ElementName(e, attributes);
            }

            resolved.Add(r);
        }

        foreach (var group in resolved.GroupBy(r => (string)r[0], StringComparer.Ordinal))
        {
            if (!item.TryGetValue(group.Key, out var value)) continue;
            var projected = Project(value, group.ToList(), 1);
            if (projected != null) result[group.Key] = projected;
        }

        return result;
    }

    private static AttrValue? Project(AttrValue value, List<object[]> paths, int depth)
    {
        if (paths.Any(p => p.Length == depth)) return value;
        if (value.Type == AttrType.M)
        {
            Dictionary<string, AttrValue>? map = null;
            foreach (var group in paths.Where(p => p[depth] is string).GroupBy(p => (string)p[depth], StringComparer.Ordinal))
            {
                if (!value.M.TryGetValue(group.Key, out var child)) continue;
                if (Project(child, group.ToList(), depth + 1) is { } projected)
                    (map ??= new Dictionary<string, AttrValue>(StringComparer.Ordinal))[group.Key] = projected;
            }

            return map == null ? null : AttrValue.FromM(map);
        }

        if (value.Type == AttrType.L)
        {
            List<AttrValue>? list = null;
            foreach (var group in paths.Where(p => p[depth] is int).GroupBy(p => (int)p[depth]).OrderBy(g => g.Key))
            {
                if (group.Key >= value.L.Count) continue;
                if (Project(value.L[group.Key], group.ToList(), depth + 1) is { } projected)
                    (list ??= []).Add(projected);
            }

            return list == null ? null : AttrValue.FromL(list);
        }

        return null;
    }
}
