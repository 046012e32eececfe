using System.Text;
using Serverless.Engine;
using Serverless.Engine.Model;
using Serverless.Engine.Partitioning;

namespace Serverless.Engine.Tests.Partitioning;

/// <summary>The hash ranges of partitions, the segments they overlap, and the frozen layout file that fixes P.</summary>
public sealed class PartitionMapTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(256)]
    public void Partitions_AreContiguousHashRanges_InOrder_CoveringEveryHash(int count)
    {
        Assert.Equal(0, PartitionMap.PartitionOf(0, count));
        Assert.Equal(count - 1, PartitionMap.PartitionOf(uint.MaxValue, count));
        var previous = 0;
        for (ulong h = 0; h <= uint.MaxValue; h += 0x10_0001)
        {
            var k = PartitionMap.PartitionOf((uint)h, count);
            Assert.True(k == previous || k == previous + 1, $"hash {h}: partition {k} after {previous}");
            previous = k;
        }

        Assert.Equal(count - 1, previous);
    }

    [Fact]
    public void Segments_MapOntoThePartitionsTheirHashRangeOverlaps()
    {
        // One segment: every partition. As many segments as partitions: one each. More segments: each inside one.
        Assert.Equal((0, 3), PartitionMap.PartitionsOfSegment(0, 1, 4));
        for (var s = 0; s < 4; s++) Assert.Equal((s, s), PartitionMap.PartitionsOfSegment(s, 4, 4));
        Assert.Equal((0, 0), PartitionMap.PartitionsOfSegment(0, 8, 4));
        Assert.Equal((3, 3), PartitionMap.PartitionsOfSegment(7, 8, 4));
        // Three segments over four partitions: the middle one spans partitions 1 and 2.
        Assert.Equal((0, 1), PartitionMap.PartitionsOfSegment(0, 3, 4));
        Assert.Equal((1, 2), PartitionMap.PartitionsOfSegment(1, 3, 4));
        Assert.Equal((2, 3), PartitionMap.PartitionsOfSegment(2, 3, 4));
    }

    [Fact]
    public void KeysOfOnePartitionKey_AlwaysLandInOnePartition_AndSpreadOverAll()
    {
        var seen = new int[4];
        for (var i = 0; i < 1000; i++) seen[PartitionMap.PartitionOf(KeyCodec.PartitionHash(AttrValue.FromS("user" + i)), 4)]++;
        foreach (var n in seen) Assert.InRange(n, 150, 350);
    }

    [Fact]
    public void LayoutFile_IsFrozen()
    {
        // Golden bytes: partitions.json fixes P when a store is created (docs/scale-out.md).
        Assert.Equal("{\"Version\":1,\"Partitions\":4}", Encoding.UTF8.GetString(PartitionedStore.WriteLayout(4)));
        Assert.Equal(8, PartitionedStore.ReadLayout("{\"Version\":1,\"Partitions\":8}"u8));
        Assert.Throws<InvalidDataException>(() => PartitionedStore.ReadLayout("{\"Version\":2,\"Partitions\":8}"u8));
    }

    [Fact]
    public void CheckLayout_RecordsP_ThenRefusesAnotherP_AndASingleStore()
    {
        var dir = Directory.CreateTempSubdirectory("partitions-").FullName;
        try
        {
            PartitionedStore.CheckLayout(dir, 4);
            PartitionedStore.CheckLayout(dir, 4);
            var other = Assert.Throws<ArgumentException>(() => PartitionedStore.CheckLayout(dir, 2));
            Assert.Contains("created with 4 partitions", other.Message);

            var single = Path.Combine(dir, "single");
            Directory.CreateDirectory(Path.Combine(single, "changelog"));
            Assert.Contains("without partitions", Assert.Throws<ArgumentException>(() => PartitionedStore.CheckLayout(single, 4)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PartitionOptions_CopyEverySetting_WithTheirOwnFolderAndContainer()
    {
        var options = new EngineOptions { DataDirectory = "d", Partitions = 4, StoreMemoryBytes = 64L << 20, DefaultRegion = "eu-west-1" };
        options.Blob.Container = "c";
        options.Blob.LeaseSeconds = 20;
        var third = PartitionedStore.OptionsOf(options, 2);
        Assert.Equal(Path.Combine("d", "p2"), third.DataDirectory);
        Assert.Equal("c-p2", third.Blob.Container);
        Assert.Equal(20, third.Blob.LeaseSeconds);
        Assert.Equal(1, third.Partitions);
        Assert.Equal(64L << 20, third.StoreMemoryBytes);
        Assert.Equal("eu-west-1", third.DefaultRegion);
        Assert.Equal("c", options.Blob.Container);
    }
}
