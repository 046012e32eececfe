using Serverless.Engine.Storage;
using Serverless.Replicator.GlobalTables;

namespace Serverless.Engine.Tests.GlobalTables;

/// <summary>
/// The settings kept in sync travel as the groups that changed: a GSI added in one region and TTL turned on in
/// another at the same moment both survive, where a whole-definition copy made the later message undo the other.
/// </summary>
public sealed class SyncedSettingsTests
{
    [Fact]
    public void Fingerprint_IsAJsonArrayOfGroups_AndParsesBack()
    {
        var d = Table();
        d.TimeToLiveAttribute = "a|b";
        var fingerprint = SyncedSettings.Fingerprint(d);
        Assert.Equal("[\"capacity=PAY_PER_REQUEST|0\",\"index:by-v=v::ALL:\",\"ttl=a|b\"]", fingerprint);
        Assert.Equal(SyncedSettings.Groups(d), SyncedSettings.Parse(fingerprint));
        Assert.Null(SyncedSettings.Parse("PAY_PER_REQUEST|0||")); // the first releases' form: every group counts as changed
    }

    [Fact]
    public void ConcurrentChangesInTwoRegions_EachSendOnlyItsOwnGroup_AndBothSurvive()
    {
        var east = Table();
        var west = Table();
        var synced = SyncedSettings.Fingerprint(east);
        east.Global!.SyncedSettings = west.Global!.SyncedSettings = synced;

        // East adds a GSI while West turns TTL on; neither has heard of the other's change.
        east.Indexes!.Add(Index("by-w"));
        west.TimeToLiveAttribute = "expires";
        var fromEast = SyncedSettings.Changed(SyncedSettings.Groups(east), SyncedSettings.Parse(synced));
        var fromWest = SyncedSettings.Changed(SyncedSettings.Groups(west), SyncedSettings.Parse(synced));
        Assert.Equal(["index:by-w"], fromEast);
        Assert.Equal(["ttl"], fromWest);

        // West applies East's group: its own TTL change is still unsent, so its synced state keeps the old TTL.
        west.Indexes!.Add(Index("by-w"));
        var westSynced = SyncedSettings.AfterApplying(west.Global.SyncedSettings, west, fromEast);
        Assert.NotEqual(SyncedSettings.Fingerprint(west), westSynced);
        Assert.Equal(["ttl"], SyncedSettings.Changed(SyncedSettings.Groups(west), SyncedSettings.Parse(westSynced)));

        // A removed index is a change too.
        var before = SyncedSettings.Groups(east);
        east.Indexes.RemoveAll(i => i.Name == "by-v");
        Assert.Equal(["index:by-v"], SyncedSettings.Changed(SyncedSettings.Groups(east), before));
        Assert.Equal(3, SyncedSettings.Changed(SyncedSettings.Groups(east), null).Count); // unknown previous: every group counts
    }

    [Fact]
    public void AckAndSettingsMessages_SerialiseToGoldenJson()
    {
        const string Ack = "{\"Format\":1,\"Type\":\"Ack\",\"Source\":\"eu-west-1\",\"Target\":\"us-east-1\",\"Table\":\"Music\",\"Copy\":false,\"FromLsn\":0,\"NextLsn\":7,\"SentAt\":1700000000001}";
        Assert.Equal(Ack, new ReplicationMessage { Type = MessageType.Ack, Source = "eu-west-1", Target = "us-east-1", Table = "Music", NextLsn = 7, SentAt = 1700000000001 }.Serialize());
        Assert.Equal(7ul, ReplicationMessage.Parse(Ack).NextLsn);
        var settings = new ReplicationMessage { Type = MessageType.Settings, Source = "a", Target = "b", Table = "t", SyncedBefore = "[\"ttl=\"]" }.Serialize();
        Assert.Contains("\"SyncedBefore\":", settings, StringComparison.Ordinal);
        Assert.Equal("[\"ttl=\"]", ReplicationMessage.Parse(settings).SyncedBefore);
    }

    [Fact]
    public void TheSameGroupChangedAtOnce_TheHigherVersionWinsInBothRegions()
    {
        var v = SyncedSettings.Version.Parse("1700000000000001/eu-west-1");
        Assert.Equal(new SyncedSettings.Version(1_700_000_000_000_001, "eu-west-1"), v);
        Assert.Equal("1700000000000001/eu-west-1", v.ToString());
        Assert.Equal(SyncedSettings.Version.None, SyncedSettings.Version.Parse(null));
        Assert.Equal(SyncedSettings.Version.None, SyncedSettings.Version.Parse("garbage"));

        // East set TTL at t=10, West at t=12, each already sent: each keeps or takes West's, the later.
        var east = new SyncedSettings.Version(10, "us-east-1");
        var west = new SyncedSettings.Version(12, "eu-west-1");
        Assert.True(SyncedSettings.Wins(west, east, pendingHere: false, nowMicros: 20, region: "us-east-1"));
        Assert.False(SyncedSettings.Wins(east, west, pendingHere: false, nowMicros: 20, region: "eu-west-1"));

        // Same microsecond: the greater region name wins, alike everywhere.
        var tie = new SyncedSettings.Version(12, "us-east-1");
        Assert.True(SyncedSettings.Wins(tie, west, false, 20, "eu-west-1"));
        Assert.False(SyncedSettings.Wins(west, tie, false, 20, "us-east-1"));

        // A change here not sent yet counts as made now: an older incoming one does not undo it.
        Assert.False(SyncedSettings.Wins(west, SyncedSettings.Version.None, pendingHere: true, nowMicros: 30, region: "us-east-1"));
        Assert.True(SyncedSettings.Wins(new SyncedSettings.Version(40, "eu-west-1"), SyncedSettings.Version.None, pendingHere: true, nowMicros: 30, region: "us-east-1"));
        Assert.Equal(new SyncedSettings.Version(13, "us-east-1"), SyncedSettings.Next(west, nowMicros: 5, region: "us-east-1")); // never behind the current one
    }

    [Fact]
    public void VersionsAndRemovedRegions_SerialiseToGoldenJson_AndReadBack()
    {
        var d = Table();
        d.Global!.SettingsVersions = new Dictionary<string, string>(StringComparer.Ordinal) { ["ttl"] = "1700000000000001/eu-west-1" };
        d.Global.Removed = new Dictionary<string, double>(StringComparer.Ordinal) { ["ap-south-1"] = 1700000000.5 };
        var json = System.Text.Json.JsonSerializer.Serialize(d.Global, StorageJsonContext.Default.GlobalTableDefinition);
        Assert.Equal("{\"Version\":\"2019.11.21\",\"Replicas\":[],\"SettingsVersions\":{\"ttl\":\"1700000000000001/eu-west-1\"},\"Removed\":{\"ap-south-1\":1700000000.5}}", json);
        var back = System.Text.Json.JsonSerializer.Deserialize(json, StorageJsonContext.Default.GlobalTableDefinition)!.Clone();
        Assert.True(back.IsRemoved("ap-south-1"));
        Assert.False(back.IsRemoved("eu-west-1"));
        Assert.Equal("1700000000000001/eu-west-1", back.SettingsVersions!["ttl"]);
        var old = System.Text.Json.JsonSerializer.Deserialize("{\"Version\":\"2019.11.21\",\"Replicas\":[]}", StorageJsonContext.Default.GlobalTableDefinition)!;
        Assert.Null(old.SettingsVersions);
        Assert.Null(old.Removed);

        const string Settings = "{\"Format\":1,\"Type\":\"Settings\",\"Source\":\"a\",\"Target\":\"b\",\"Table\":\"t\",\"Versions\":{\"ttl\":\"5/a\"},\"Copy\":false,\"FromLsn\":0,\"NextLsn\":0,\"SentAt\":0}";
        var message = new ReplicationMessage { Type = MessageType.Settings, Source = "a", Target = "b", Table = "t", Versions = new() { ["ttl"] = "5/a" } };
        Assert.Equal(Settings, message.Serialize());
        Assert.Equal("5/a", ReplicationMessage.Parse(Settings).Versions!["ttl"]);
    }

    private static IndexDefinition Index(string name) => new()
    {
        Name = name, Number = 9, Global = true, HashKey = new KeyAttribute("v", "S"), ProjectionType = "ALL",
    };

    private static TableDefinition Table() => new()
    {
        Name = "music", TableNumber = 1, TableId = "t", Region = "us-east-1", AccountId = "0",
        HashKey = new KeyAttribute("pk", "S"), AttributeDefinitions = [new KeyAttribute("pk", "S")], CreationDateTime = 0,
        BillingMode = "PAY_PER_REQUEST", Indexes = [Index("by-v")], Global = new GlobalTableDefinition(),
    };
}
