using System.Text.Json;
using Serverless.Engine.Storage;

namespace Serverless.Replicator.GlobalTables;

/// <summary>
/// The settings kept in sync across replicas, as groups that change independently: <c>capacity</c> (billing mode and
/// write capacity), <c>ttl</c> (the TTL attribute) and one <c>index:NAME</c> per global secondary index. A Settings
/// message carries the sender's definition and its groups as last synced, so the receiver applies only the groups
/// that changed at the sender: a GSI added in one region and TTL turned on in another at the same moment both reach
/// every replica, where a whole-definition copy let the later message undo the other region's change.
/// </summary>
public static class SyncedSettings
{
    public const string Capacity = "capacity";
    public const string Ttl = "ttl";
    public const string IndexPrefix = "index:";

    /// <summary>The fingerprint stored in <see cref="GlobalTableDefinition.SyncedSettings"/>: a JSON array of "group=value".</summary>
    public static string Fingerprint(TableDefinition d) => Write(Groups(d));

    /// <summary>The synced groups of a definition, by group name.</summary>
    public static SortedDictionary<string, string> Groups(TableDefinition d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var groups = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [Capacity] = d.BillingMode + "|" + (d.BillingMode == "PAY_PER_REQUEST" ? 0 : d.WriteCapacityUnits),
            [Ttl] = d.TimeToLiveAttribute ?? "",
        };
        foreach (var i in d.Indexes ?? [])
        {
            if (!i.Global) continue;
            groups[IndexPrefix + i.Name] = i.HashKey.Name + ":" + i.RangeKey?.Name + ":" + i.ProjectionType + ":" + string.Join(",", i.NonKeyAttributes ?? []);
        }

        return groups;
    }

    /// <summary>Parses a stored fingerprint; null when absent or in the first releases' format (then every group counts as changed).</summary>
    public static SortedDictionary<string, string>? Parse(string? fingerprint)
    {
        if (fingerprint is not ['[', ..]) return null;
        string[]? entries;
        try
        {
            entries = JsonSerializer.Deserialize(fingerprint, ReplicationJsonContext.Default.StringArray);
        }
        catch (JsonException)
        {
            return null;
        }

        var groups = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries ?? [])
        {
            var at = entry.IndexOf('=', StringComparison.Ordinal);
            if (at > 0) groups[entry[..at]] = entry[(at + 1)..];
        }

        return groups;
    }

    public static string Write(SortedDictionary<string, string> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var entries = new string[groups.Count];
        var n = 0;
        foreach (var (key, value) in groups) entries[n++] = key + "=" + value;
        return JsonSerializer.Serialize(entries, ReplicationJsonContext.Default.StringArray);
    }

    /// <summary>
    /// The groups that changed at the sender: those whose value now differs from the one it last synced (every group
    /// of either side when <paramref name="previous"/> is unknown).
    /// </summary>
    public static HashSet<string> Changed(SortedDictionary<string, string> now, SortedDictionary<string, string>? previous)
    {
        ArgumentNullException.ThrowIfNull(now);
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in now)
        {
            if (previous == null || !previous.TryGetValue(key, out var before) || before != value) changed.Add(key);
        }

        foreach (var key in previous?.Keys ?? Enumerable.Empty<string>())
        {
            if (!now.ContainsKey(key)) changed.Add(key);
        }

        return changed;
    }

    /// <summary>
    /// The receiver's synced groups after applying <paramref name="changed"/>: those groups take the value they now
    /// have here; the others keep what was last synced, so a local change not yet sent is still sent.
    /// </summary>
    public static string AfterApplying(string? synced, TableDefinition applied, HashSet<string> changed)
    {
        ArgumentNullException.ThrowIfNull(changed);
        var current = Groups(applied);
        var groups = Parse(synced) ?? new SortedDictionary<string, string>(current, StringComparer.Ordinal);
        foreach (var key in changed)
        {
            if (current.TryGetValue(key, out var value)) groups[key] = value;
            else groups.Remove(key);
        }

        return Write(groups);
    }
}
