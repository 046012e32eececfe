using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Cache;

/// <summary>
/// The DAX control plane's durable state: clusters and parameter groups, saved whole after every change to
/// <c>{data}/dax/state.json</c> (written to a temporary file, fsynced, renamed), sealed with the store's data key
/// (<see cref="SealedFile"/>, kind DaxState), as the trigger checkpoints are. Cached data is never persisted: a
/// restarted cluster starts cold. The JSON is guarded by a golden test (DaxStateGoldenTests).
/// </summary>
public sealed record DaxState
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public List<DaxClusterRecord> Clusters { get; init; } = [];

    /// <summary>User-created parameter groups; the default group (<c>default.dax1.0</c>) is built in and never stored.</summary>
    public List<DaxParameterGroupRecord> ParameterGroups { get; init; } = [];

    public static string PathOf(string dataDirectory) => Path.Combine(Path.GetFullPath(dataDirectory), "dax", "state.json");

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, DaxJsonContext.Default.DaxState);

    public static DaxState Deserialize(ReadOnlySpan<byte> json)
    {
        var state = JsonSerializer.Deserialize(json, DaxJsonContext.Default.DaxState) ?? new DaxState();
        if (state.Format != CurrentFormat) throw new InvalidDataException($"DAX state has format {state.Format}; this build reads format {CurrentFormat}.");
        return state;
    }

    public static DaxState Load(string path, StoreCipher cipher) =>
        File.Exists(path) ? Deserialize(SealedFile.ReadFile(path, cipher, SealedKind.DaxState)) : new DaxState();

    public void Save(string path, StoreCipher cipher)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        SealedFile.WriteAtomically(path, cipher, SealedKind.DaxState, Serialize());
    }
}

/// <summary>One cluster as created (names are stored in lower case, as DAX stores them).</summary>
public sealed record DaxClusterRecord
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    public required string Region { get; init; }

    public required string NodeType { get; init; }

    public required int ReplicationFactor { get; init; }

    public required string IamRoleArn { get; init; }

    public required string ParameterGroupName { get; init; }

    public string? SubnetGroupName { get; init; }

    public List<string> SecurityGroupIds { get; init; } = [];

    public List<string> AvailabilityZones { get; init; } = [];

    public string? PreferredMaintenanceWindow { get; init; }

    public string? NotificationTopicArn { get; init; }

    public string? NotificationTopicStatus { get; init; }

    public bool SseEnabled { get; init; }

    public string EndpointEncryptionType { get; init; } = "NONE";

    public string NetworkType { get; init; } = "ipv4";

    /// <summary>Creation time, Unix seconds.</summary>
    public required double CreatedAt { get; init; }

    public List<DaxTag> Tags { get; init; } = [];
}

public sealed record DaxTag(string Key, string? Value);

/// <summary>A user parameter group: its description and the values set through UpdateParameterGroup.</summary>
public sealed record DaxParameterGroupRecord
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    /// <summary>Parameter name → value; parameters not listed keep their defaults.</summary>
    public SortedDictionary<string, string> Values { get; init; } = new(StringComparer.Ordinal);
}

[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DaxState))]
internal sealed partial class DaxJsonContext : JsonSerializerContext;
