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

    /// <summary>A group's version: when and where its value was set; the higher one wins (time, then region).</summary>
    public readonly record struct Version(long Micros, string Region) : IComparable<Version>
    {
        public static readonly Version None = new(0, "");

        public int CompareTo(Version other) => Micros != other.Micros ? Micros.CompareTo(other.Micros) : string.CompareOrdinal(Region, other.Region);

        public static bool operator >(Version a, Version b) => a.CompareTo(b) > 0;

        public static bool operator <(Version a, Version b) => a.CompareTo(b) < 0;

        public static bool operator >=(Version a, Version b) => a.CompareTo(b) >= 0;

        public static bool operator <=(Version a, Version b) => a.CompareTo(b) <= 0;

        /// <summary>"microseconds/region", as stored in <see cref="GlobalTableDefinition.SettingsVersions"/>.</summary>
        public override string ToString() => Micros.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/" + Region;

        public static Version Parse(string? text)
        {
            var at = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
            return at > 0 && long.TryParse(text![..at], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var micros)
                ? new Version(micros, text[(at + 1)..])
                : None;
        }
    }

    /// <summary>The stored version of <paramref name="group"/>; <see cref="Version.None"/> when it has none.</summary>
    public static Version VersionOf(IReadOnlyDictionary<string, string>? versions, string group) =>
        versions != null && versions.TryGetValue(group, out var v) ? Version.Parse(v) : Version.None;

    /// <summary>A version for a change made here now: later than both the clock and the group's current version.</summary>
    public static Version Next(Version current, long nowMicros, string region) => new(Math.Max(nowMicros, current.Micros + 1), region);

    /// <summary>
    /// Whether a value another region set with <paramref name="incoming"/> replaces this replica's: only when it is
    /// newer than the version here. A change made here and not sent yet counts as made now
    /// (<paramref name="nowMicros"/>), so of two changes at the same moment both regions keep the same one.
    /// </summary>
    public static bool Wins(Version incoming, Version local, bool pendingHere, long nowMicros, string region) =>
        incoming > (pendingHere ? Next(local, nowMicros, region) : local);

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
