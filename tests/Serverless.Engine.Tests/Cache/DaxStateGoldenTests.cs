using System.Text;
using Serverless.Engine.Cache;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Cache;

/// <summary>The DAX control plane's persisted state (<c>{data}/dax/state.json</c>): its JSON is frozen.</summary>
public class DaxStateGoldenTests
{
    private const string Golden =
        "{\"Format\":1,\"Clusters\":[{\"Name\":\"music-cache\",\"Description\":\"hot keys\",\"Region\":\"us-east-1\",\"NodeType\":\"dax.r5.large\"," +
        "\"ReplicationFactor\":3,\"IamRoleArn\":\"arn:aws:iam::000000000000:role/DAX\",\"ParameterGroupName\":\"short\",\"SecurityGroupIds\":[\"sg-1\"]," +
        "\"AvailabilityZones\":[],\"SseEnabled\":true,\"EndpointEncryptionType\":\"NONE\",\"NetworkType\":\"ipv4\",\"CreatedAt\":1764600000.5," +
        "\"Tags\":[{\"Key\":\"team\",\"Value\":\"cache\"}]}]," +
        "\"ParameterGroups\":[{\"Name\":\"short\",\"Description\":\"short TTLs\",\"Values\":{\"invalidate-on-table-writes\":\"false\",\"record-ttl-millis\":\"60000\"}}]}";

    private static DaxState Sample() => new()
    {
        Clusters =
        [
            new DaxClusterRecord
            {
                Name = "music-cache", Description = "hot keys", Region = "us-east-1", NodeType = "dax.r5.large", ReplicationFactor = 3,
                IamRoleArn = "arn:aws:iam::000000000000:role/DAX", ParameterGroupName = "short", SecurityGroupIds = ["sg-1"], SseEnabled = true,
                CreatedAt = 1764600000.5, Tags = [new DaxTag("team", "cache")],
            },
        ],
        ParameterGroups =
        [
            new DaxParameterGroupRecord
            {
                Name = "short", Description = "short TTLs",
                Values = new(StringComparer.Ordinal) { ["record-ttl-millis"] = "60000", ["invalidate-on-table-writes"] = "false" },
            },
        ],
    };

    [Fact]
    public void State_SerialisesToGoldenJson() => Assert.Equal(Golden, Encoding.UTF8.GetString(Sample().Serialize()));

    [Fact]
    public void State_LoadsGoldenJson_FromASealedFile()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("dax-").FullName, "dax", "state.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, SealedFile.Seal(TestKeys.Cipher, SealedKind.DaxState, Encoding.UTF8.GetBytes(Golden)));
        var loaded = DaxState.Load(path, TestKeys.Cipher);
        var cluster = Assert.Single(loaded.Clusters);
        Assert.Equal("music-cache", cluster.Name);
        Assert.Equal(3, cluster.ReplicationFactor);
        Assert.True(cluster.SseEnabled);
        Assert.Equal("cache", cluster.Tags[0].Value);
        var settings = DaxParameters.Settings(Assert.Single(loaded.ParameterGroups));
        Assert.Equal(new CacheSettings(60000, 300000, false), settings);
    }

    [Fact]
    public void State_SaveThenLoad_RoundTrips_Sealed()
    {
        var path = DaxState.PathOf(Directory.CreateTempSubdirectory("dax-").FullName);
        Sample().Save(path, TestKeys.Cipher);
        Assert.Equal(-1, File.ReadAllBytes(path).AsSpan().IndexOf("music-cache"u8));
        Assert.Equal(Golden, Encoding.UTF8.GetString(DaxState.Load(path, TestKeys.Cipher).Serialize()));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void MissingFile_IsAnEmptyState_AndANewerFormatIsRefused()
    {
        Assert.Empty(DaxState.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "state.json"), TestKeys.Cipher).Clusters);
        Assert.Throws<InvalidDataException>(() => DaxState.Deserialize("{\"Format\":2}"u8));
    }

    [Fact]
    public void SealedKind_OfTheState_IsFrozen() => Assert.Equal(9, (int)SealedKind.DaxState);
}
