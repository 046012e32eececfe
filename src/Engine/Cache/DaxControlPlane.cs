using System.Text.Json;
using Serverless.Engine.Operations;

namespace Serverless.Engine.Cache;

/// <summary>
/// The DAX control plane (<c>AmazonDAXV3</c>): clusters and parameter groups. A cluster is a cache in this process,
/// served at <c>{endpoint}/dax/{name}</c>; it is <c>creating</c> in CreateCluster's answer and <c>available</c>
/// from then on. Nodes, subnet groups and security groups are reported as given, since there is nothing to place.
/// </summary>
internal static class DaxControlPlane
{
    private const string DefaultMaintenanceWindow = "sun:05:00-sun:06:00";

    public static ValueTask CreateClusterAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = ClusterName(req, "ClusterName");
        var nodeType = Req.String(req, "NodeType");
        if (string.IsNullOrEmpty(nodeType)) throw DaxErrors.Missing("NodeType");
        var replication = Req.Long(req, "ReplicationFactor", "Integer") ?? throw DaxErrors.Missing("ReplicationFactor");
        if (replication is < 1 or > 10) throw DaxErrors.ReplicationFactor((int)replication);
        var role = Req.String(req, "IamRoleArn") ?? throw DaxErrors.Missing("IamRoleArn");
        CheckArn(role);
        var group = Req.String(req, "ParameterGroupName") ?? DaxParameters.DefaultGroup;
        var encryption = Req.String(req, "ClusterEndpointEncryptionType") ?? "NONE";
        if (encryption is not ("NONE" or "TLS")) throw DaxErrors.InvalidParameterValue($"Invalid ClusterEndpointEncryptionType: {encryption}");
        var network = Req.String(req, "NetworkType") ?? "ipv4";
        if (network is not ("ipv4" or "ipv6" or "dual_stack")) throw DaxErrors.InvalidParameterValue($"Invalid NetworkType: {network}");
        var sse = Req.Object(req, "SSESpecification") is { } s && (Req.Bool(s, "Enabled") ?? false);
        var tags = new List<DaxTag>();
        if (Req.List(req, "Tags") is { } tagList)
        {
            foreach (var t in tagList.EnumerateArray()) tags.Add(new DaxTag(Req.String(t, "Key") ?? "", Req.String(t, "Value")));
        }

        var record = new DaxClusterRecord
        {
            Name = name, Description = Req.String(req, "Description"), Region = ctx.Region, NodeType = nodeType,
            ReplicationFactor = (int)replication, IamRoleArn = role, ParameterGroupName = group,
            SubnetGroupName = Req.String(req, "SubnetGroupName"), SecurityGroupIds = Req.StringList(req, "SecurityGroupIds") ?? [],
            AvailabilityZones = Req.StringList(req, "AvailabilityZones") ?? [],
            PreferredMaintenanceWindow = Req.String(req, "PreferredMaintenanceWindow"),
            NotificationTopicArn = Req.String(req, "NotificationTopicArn"), NotificationTopicStatus = Req.String(req, "NotificationTopicArn") is null ? null : "active",
            SseEnabled = sse, EndpointEncryptionType = encryption, NetworkType = network, CreatedAt = ctx.Engine.NowSeconds(), Tags = tags,
        };

        ctx.Engine.Cache.Change(state =>
        {
            if (state.Clusters.Exists(c => c.Name == name)) throw DaxErrors.ClusterAlreadyExists(name);
            RequireGroup(state, group);
            return state with { Clusters = [.. state.Clusters, record] };
        });

        WriteResponse(ctx, w, record, "creating");
        return ValueTask.CompletedTask;
    }

    public static ValueTask DescribeClustersAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var state = ctx.Engine.Cache.State;
        var clusters = state.Clusters.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        if (Req.StringList(req, "ClusterNames") is { Count: > 0 } names)
        {
            var wanted = new List<DaxClusterRecord>();
            foreach (var n in names)
            {
                var lower = n.ToLowerInvariant();
                wanted.Add(clusters.Find(c => c.Name == lower) ?? throw DaxErrors.ClusterNotFound(lower));
            }

            clusters = wanted;
        }

        var (page, next) = Page(clusters, c => c.Name, req);
        w.WriteStartObject();
        w.WriteStartArray("Clusters"u8);
        foreach (var c in page) WriteCluster(ctx, w, c, "available");
        w.WriteEndArray();
        if (next != null) w.WriteString("NextToken"u8, next);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask UpdateClusterAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = ClusterName(req, "ClusterName");
        DaxClusterRecord? updated = null;
        ctx.Engine.Cache.Change(state =>
        {
            var current = state.Clusters.Find(c => c.Name == name) ?? throw DaxErrors.ClusterNotFound(name);
            var group = Req.String(req, "ParameterGroupName") ?? current.ParameterGroupName;
            RequireGroup(state, group);
            var topicStatus = Req.String(req, "NotificationTopicStatus");
            if (topicStatus is not (null or "active" or "inactive")) throw DaxErrors.InvalidParameterValue($"Invalid NotificationTopicStatus: {topicStatus}");
            updated = current with
            {
                Description = Req.String(req, "Description") ?? current.Description,
                PreferredMaintenanceWindow = Req.String(req, "PreferredMaintenanceWindow") ?? current.PreferredMaintenanceWindow,
                NotificationTopicArn = Req.String(req, "NotificationTopicArn") ?? current.NotificationTopicArn,
                NotificationTopicStatus = topicStatus ?? current.NotificationTopicStatus ?? (Req.String(req, "NotificationTopicArn") is null ? null : "active"),
                ParameterGroupName = group,
                SecurityGroupIds = Req.StringList(req, "SecurityGroupIds") ?? current.SecurityGroupIds,
            };
            return state with { Clusters = state.Clusters.ConvertAll(c => c.Name == name ? updated : c) };
        });

        WriteResponse(ctx, w, updated!, "available");
        return ValueTask.CompletedTask;
    }

    public static ValueTask DeleteClusterAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = ClusterName(req, "ClusterName");
        DaxClusterRecord? deleted = null;
        ctx.Engine.Cache.Change(state =>
        {
            deleted = state.Clusters.Find(c => c.Name == name) ?? throw DaxErrors.ClusterNotFound(name);
            return state with { Clusters = state.Clusters.FindAll(c => c.Name != name) };
        });

        WriteResponse(ctx, w, deleted!, "deleting");
        return ValueTask.CompletedTask;
    }

    public static ValueTask CreateParameterGroupAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = GroupName(req);
        var group = new DaxParameterGroupRecord { Name = name, Description = Req.String(req, "Description") };
        ctx.Engine.Cache.Change(state =>
        {
            if (name == DaxParameters.DefaultGroup || state.ParameterGroups.Exists(g => g.Name == name)) throw DaxErrors.ParameterGroupAlreadyExists(name);
            return state with { ParameterGroups = [.. state.ParameterGroups, group] };
        });

        WriteGroupResponse(w, name, group.Description);
        return ValueTask.CompletedTask;
    }

    public static ValueTask UpdateParameterGroupAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = GroupName(req);
        var values = Req.List(req, "ParameterNameValues") ?? throw DaxErrors.Missing("ParameterNameValues");
        var changes = new List<(string, string)>();
        foreach (var v in values.EnumerateArray())
        {
            var parameter = Req.String(v, "ParameterName") ?? throw DaxErrors.Missing("ParameterName");
            var value = Req.String(v, "ParameterValue") ?? throw DaxErrors.Missing("ParameterValue");
            DaxParameters.Check(DaxParameters.Find(parameter) ?? throw DaxErrors.UnknownParameter(parameter), value);
            changes.Add((parameter, value));
        }

        DaxParameterGroupRecord? updated = null;
        ctx.Engine.Cache.Change(state =>
        {
            if (name == DaxParameters.DefaultGroup) throw DaxErrors.DefaultParameterGroup(name);
            var current = state.ParameterGroups.Find(g => g.Name == name) ?? throw DaxErrors.ParameterGroupNotFound(name);
            var merged = new SortedDictionary<string, string>(current.Values, StringComparer.Ordinal);
            foreach (var (p, v) in changes) merged[p] = v;
            updated = current with { Values = merged };
            return state with { ParameterGroups = state.ParameterGroups.ConvertAll(g => g.Name == name ? updated : g) };
        });

        WriteGroupResponse(w, name, updated!.Description);
        return ValueTask.CompletedTask;
    }

    public static ValueTask DeleteParameterGroupAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = GroupName(req);
        ctx.Engine.Cache.Change(state =>
        {
            if (name == DaxParameters.DefaultGroup) throw DaxErrors.DefaultParameterGroup(name);
            if (!state.ParameterGroups.Exists(g => g.Name == name)) throw DaxErrors.ParameterGroupNotFound(name);
            if (state.Clusters.Exists(c => c.ParameterGroupName == name)) throw DaxErrors.ParameterGroupInUse(name);
            return state with { ParameterGroups = state.ParameterGroups.FindAll(g => g.Name != name) };
        });

        w.WriteStartObject();
        w.WriteString("DeletionMessage"u8, $"Parameter group {name} has been deleted.");
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask DescribeParameterGroupsAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var state = ctx.Engine.Cache.State;
        var all = new List<DaxParameterGroupRecord> { new() { Name = DaxParameters.DefaultGroup, Description = "Default parameter group for dax1.0" } };
        all.AddRange(state.ParameterGroups.OrderBy(g => g.Name, StringComparer.Ordinal));
        if (Req.StringList(req, "ParameterGroupNames") is { Count: > 0 } names)
        {
            var wanted = new List<DaxParameterGroupRecord>();
            foreach (var n in names) wanted.Add(all.Find(g => g.Name == n) ?? throw DaxErrors.ParameterGroupNotFound(n));
            all = wanted;
        }

        var (page, next) = Page(all, g => g.Name, req);
        w.WriteStartObject();
        w.WriteStartArray("ParameterGroups"u8);
        foreach (var g in page) WriteGroup(w, g.Name, g.Description);
        w.WriteEndArray();
        if (next != null) w.WriteString("NextToken"u8, next);
        w.WriteEndObject();
        return ValueTask.CompletedTask;
    }

    public static ValueTask DescribeParametersAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        var name = Req.String(req, "ParameterGroupName") ?? throw DaxErrors.Missing("ParameterGroupName");
        var source = Req.String(req, "Source");
        if (source is not (null or "user" or "system")) throw DaxErrors.InvalidParameterValue($"Invalid Source: {source}");
        DaxParameterGroupRecord? group = null;
        if (name != DaxParameters.DefaultGroup)
            group = ctx.Engine.Cache.State.ParameterGroups.Find(g => g.Name == name) ?? throw DaxErrors.ParameterGroupNotFound(name);
        WriteParameters(w, req, source == "system" ? null : group, source == "system");
        return ValueTask.CompletedTask;
    }

    public static ValueTask DescribeDefaultParametersAsync(OperationContext ctx, JsonElement req, Utf8JsonWriter w)
    {
        WriteParameters(w, req, null, empty: false);
        return ValueTask.CompletedTask;
    }

    private static void WriteParameters(Utf8JsonWriter w, JsonElement req, DaxParameterGroupRecord? group, bool empty)
    {
        var (page, next) = Page(empty ? [] : DaxParameters.All.ToList(), d => d.Name, req);
        w.WriteStartObject();
        w.WriteStartArray("Parameters"u8);
        foreach (var d in page) DaxParameters.Write(w, d, group != null && group.Values.TryGetValue(d.Name, out var v) ? v : d.Default);
        w.WriteEndArray();
        if (next != null) w.WriteString("NextToken"u8, next);
        w.WriteEndObject();
    }

    /// <summary>MaxResults/NextToken paging over a list in a stable order; the token is the name of the next element.</summary>
    private static (List<T> Page, string? Next) Page<T>(List<T> all, Func<T, string> key, JsonElement req)
    {
        var max = (int)(Req.Long(req, "MaxResults", "Integer") ?? 100);
        if (max < 1) throw DaxErrors.InvalidParameterValue($"MaxResults must be at least 1: {max}");
        var start = 0;
        if (Req.String(req, "NextToken") is { } token)
        {
            start = all.FindIndex(e => string.CompareOrdinal(key(e), token) >= 0);
            if (start < 0) start = all.Count;
        }

        var page = all.Skip(start).Take(max).ToList();
        return (page, start + max < all.Count ? key(all[start + max]) : null);
    }

    private static void RequireGroup(DaxState state, string group)
    {
        if (group != DaxParameters.DefaultGroup && !state.ParameterGroups.Exists(g => g.Name == group)) throw DaxErrors.ParameterGroupNotFound(group);
    }

    /// <summary>DAX's identifier rules (1–20 characters for clusters): a letter first, letters, digits and single hyphens, no hyphen last. Stored in lower case.</summary>
    private static string ClusterName(JsonElement req, string member)
    {
        var name = Req.String(req, member) ?? throw DaxErrors.Missing(member);
        if (name.Length > 20 || !IsIdentifier(name)) throw DaxErrors.InvalidClusterName();
        return name.ToLowerInvariant();
    }

    private static string GroupName(JsonElement req)
    {
        var name = Req.String(req, "ParameterGroupName") ?? throw DaxErrors.Missing("ParameterGroupName");
        if (name == DaxParameters.DefaultGroup) return name;
        if (name.Length > 255 || !IsIdentifier(name)) throw DaxErrors.InvalidParameterGroupName();
        return name.ToLowerInvariant();
    }

    private static bool IsIdentifier(string name)
    {
        if (name.Length == 0 || !char.IsAsciiLetter(name[0]) || name[^1] == '-' || name.Contains("--", StringComparison.Ordinal)) return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-')) return false;
        return true;
    }

    private static void CheckArn(string arn)
    {
        if (!arn.StartsWith("arn:", StringComparison.Ordinal)) throw DaxErrors.InvalidArn("ARNs must start with 'arn:'", arn);
        var parts = arn.Split(':').Length;
        if (parts < 3) throw DaxErrors.InvalidArn("Second colon partition not found", arn);
        if (parts < 4) throw DaxErrors.InvalidArn("Third colon vendor not found", arn);
        if (parts < 5) throw DaxErrors.InvalidArn("Fourth colon (region/namespace delimiter) not found", arn);
        if (parts < 6) throw DaxErrors.InvalidArn("Fifth colon (namespace/relative-id delimiter) not found", arn);
    }

    private static void WriteResponse(OperationContext ctx, Utf8JsonWriter w, DaxClusterRecord c, string status)
    {
        w.WriteStartObject();
        w.WritePropertyName("Cluster"u8);
        WriteCluster(ctx, w, c, status);
        w.WriteEndObject();
    }

    private static void WriteGroupResponse(Utf8JsonWriter w, string name, string? description)
    {
        w.WriteStartObject();
        w.WritePropertyName("ParameterGroup"u8);
        WriteGroup(w, name, description);
        w.WriteEndObject();
    }

    private static void WriteGroup(Utf8JsonWriter w, string name, string? description)
    {
        w.WriteStartObject();
        w.WriteString("ParameterGroupName"u8, name);
        if (description != null) w.WriteString("Description"u8, description);
        w.WriteEndObject();
    }

    /// <summary>The cluster's data endpoint: <c>{scheme}://{host}/dax/{name}</c>, on the host the request was sent to.</summary>
    internal static Uri EndpointOf(OperationContext ctx, string name)
    {
        var configured = ctx.Engine.Options.Cache.EndpointBaseUrl;
        var origin = configured is { Length: > 0 } ? configured.TrimEnd('/') : $"{(ctx.Https ? "https" : "http")}://{ctx.Host ?? "127.0.0.1:8000"}";
        return new Uri($"{origin}/dax/{name}");
    }

    private static void WriteCluster(OperationContext ctx, Utf8JsonWriter w, DaxClusterRecord c, string status)
    {
        var endpoint = EndpointOf(ctx, c.Name);
        var available = status == "available";
        w.WriteStartObject();
        w.WriteString("ClusterName"u8, c.Name);
        if (c.Description != null) w.WriteString("Description"u8, c.Description);
        w.WriteString("ClusterArn"u8, $"arn:aws:dax:{c.Region}:{ctx.Engine.Options.AccountId}:cache/{c.Name}");
        w.WriteNumber("TotalNodes"u8, c.ReplicationFactor);
        w.WriteNumber("ActiveNodes"u8, available ? c.ReplicationFactor : 0);
        w.WriteString("NodeType"u8, c.NodeType);
        w.WriteString("Status"u8, status);
        w.WriteStartObject("ClusterDiscoveryEndpoint"u8);
        w.WriteString("Address"u8, endpoint.Host);
        w.WriteNumber("Port"u8, endpoint.Port);
        w.WriteString("URL"u8, endpoint.AbsoluteUri);
        w.WriteEndObject();
        if (available)
        {
            w.WriteStartArray("Nodes"u8);
            for (var i = 0; i < c.ReplicationFactor; i++)
            {
                w.WriteStartObject();
                w.WriteString("NodeId"u8, $"{c.Name}-{(char)('a' + i)}");
                w.WriteStartObject("Endpoint"u8);
                w.WriteString("Address"u8, endpoint.Host);
                w.WriteNumber("Port"u8, endpoint.Port);
                w.WriteString("URL"u8, endpoint.AbsoluteUri);
                w.WriteEndObject();
                w.WriteNumber("NodeCreateTime"u8, c.CreatedAt);
                w.WriteString("AvailabilityZone"u8, c.AvailabilityZones.Count > 0 ? c.AvailabilityZones[i % c.AvailabilityZones.Count] : c.Region + "a");
                w.WriteString("NodeStatus"u8, "available"u8);
                w.WriteString("ParameterGroupStatus"u8, "in-sync"u8);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteString("PreferredMaintenanceWindow"u8, c.PreferredMaintenanceWindow ?? DefaultMaintenanceWindow);
        if (c.NotificationTopicArn != null)
        {
            w.WriteStartObject("NotificationConfiguration"u8);
            w.WriteString("TopicArn"u8, c.NotificationTopicArn);
            w.WriteString("TopicStatus"u8, c.NotificationTopicStatus ?? "active");
            w.WriteEndObject();
        }

        w.WriteString("SubnetGroup"u8, c.SubnetGroupName ?? "default");
        w.WriteStartArray("SecurityGroups"u8);
        foreach (var sg in c.SecurityGroupIds)
        {
            w.WriteStartObject();
            w.WriteString("SecurityGroupIdentifier"u8, sg);
            w.WriteString("Status"u8, "active"u8);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("IamRoleArn"u8, c.IamRoleArn);
        w.WriteStartObject("ParameterGroup"u8);
        w.WriteString("ParameterGroupName"u8, c.ParameterGroupName);
        w.WriteString("ParameterApplyStatus"u8, "in-sync"u8);
        w.WriteStartArray("NodeIdsToReboot"u8);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("SSEDescription"u8);
        w.WriteString("Status"u8, c.SseEnabled ? "ENABLED"u8 : "DISABLED"u8);
        w.WriteEndObject();
        w.WriteString("ClusterEndpointEncryptionType"u8, c.EndpointEncryptionType);
        w.WriteString("NetworkType"u8, c.NetworkType);
        w.WriteEndObject();
    }

}
