using System.Text;
using Serverless.Engine.Operations;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Tests.Security;
using Serverless.Replicator.Triggers;

namespace Serverless.Engine.Tests.Replicator;

/// <summary>
/// A trigger's checkpoint file says how far its stream has been delivered; changing its shape would make every
/// mapping restart from its StartingPosition (or fail) after an upgrade. This golden string guards it.
/// </summary>
public class TriggerCheckpointFormatTests
{
    private const string Golden =
        "{\"Format\":1,\"Table\":\"Music\",\"StreamLabel\":\"2026-11-29T21:26:25.648\",\"Segment\":1,\"Lsn\":6,\"Item\":2,\"Offset\":1013}";

    [Fact]
    public void Checkpoint_SerialisesToGoldenJson()
    {
        var checkpoint = TriggerCheckpoint.Of("Music", new StreamPosition("2026-11-29T21:26:25.648", 1, 6, 2, 1013));
        Assert.Equal(Golden, Encoding.UTF8.GetString(checkpoint.Serialize()));
    }

    [Fact]
    public void Checkpoint_LoadsGoldenJson()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("checkpoint-").FullName, "m.json");
        File.WriteAllBytes(path, SealedFile.Seal(TestKeys.Cipher, SealedKind.TriggerCheckpoint, Encoding.UTF8.GetBytes(Golden)));
        var loaded = TriggerCheckpoint.Load(path, TestKeys.Cipher)!;
        Assert.Equal("Music", loaded.Table);
        Assert.Equal(new StreamPosition("2026-11-29T21:26:25.648", 1, 6, 2, 1013), loaded.Position);
    }

    [Fact]
    public void Checkpoint_SaveThenLoad_RoundTrips()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("checkpoint-").FullName, "triggers", "m.json");
        var checkpoint = TriggerCheckpoint.Of("T", new StreamPosition("label", 7, 9, 0, 0));
        checkpoint.Save(path, TestKeys.Cipher);
        Assert.Equal(-1, File.ReadAllBytes(path).AsSpan().IndexOf("label"u8)); // sealed: the JSON is not in clear
        Assert.Equal(checkpoint, TriggerCheckpoint.Load(path, TestKeys.Cipher));
        Assert.False(File.Exists(path + ".tmp"));
    }
}
