using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Tests.Storage;

/// <summary>
/// Multi-attribute global index keys: the catalog JSON of their definition (golden), and the entry key layout
/// (MultiAttributeKey.cs): the classic layout is unchanged, and entries sort as DynamoDB orders the sort attributes.
/// </summary>
public class MultiAttributeKeyFormatTests
{
    private static IndexDefinition MultiIndex() => new()
    {
        Name = "by-tr", Number = 12, Global = true,
        HashKey = new KeyAttribute("tournament", "S"), ExtraHashKeys = [new KeyAttribute("region", "S")],
        RangeKey = new KeyAttribute("round", "S"), ExtraRangeKeys = [new KeyAttribute("seq", "N")],
        ProjectionType = "KEYS_ONLY",
    };

    [Fact]
    public void MultiAttributeIndex_SerialisesToGoldenJson_AndReadsBack()
    {
        var table = new TableDefinition
        {
            Name = "Matches", TableNumber = 11, TableId = "0f8fad5b-d9cb-469f-a165-70867728950e", Region = "eu-west-1", AccountId = "123456789012",
            HashKey = new KeyAttribute("matchId", "S"), AttributeDefinitions = [new KeyAttribute("matchId", "S")], CreationDateTime = 1700000000,
            Indexes = [MultiIndex()],
        };
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(table, StorageJsonContext.Default.TableDefinition));
        Assert.Contains(
            "\"Indexes\":[{\"Name\":\"by-tr\",\"Number\":12,\"Global\":true,\"HashKey\":{\"Name\":\"tournament\",\"Type\":\"S\"},\"RangeKey\":{\"Name\":\"round\",\"Type\":\"S\"},"
            + "\"ExtraHashKeys\":[{\"Name\":\"region\",\"Type\":\"S\"}],\"ExtraRangeKeys\":[{\"Name\":\"seq\",\"Type\":\"N\"}],\"ProjectionType\":\"KEYS_ONLY\",\"Status\":\"ACTIVE\",\"ReadCapacityUnits\":0,\"WriteCapacityUnits\":0}]",
            json);
        var back = JsonSerializer.Deserialize(json, StorageJsonContext.Default.TableDefinition)!.Clone().Indexes![0];
        Assert.Equal(["tournament", "region"], back.HashKeys.Select(k => k.Name));
        Assert.Equal(["round", "seq"], back.RangeKeys.Select(k => k.Name));
        Assert.True(back.MultiAttribute);
    }

    [Fact]
    public void ClassicIndex_EntryKeyIsTheClassicLayout()
    {
        var index = new SecondaryIndex(new IndexDefinition
        {
            Name = "g", Number = 5, Global = true, HashKey = new KeyAttribute("a", "S"), RangeKey = new KeyAttribute("b", "N"), ProjectionType = "ALL",
        });
        var storageKey = KeyCodec.EncodeKey(3, AttrValue.FromS("pk"), null);
        var entry = index.EntryFor(new Dictionary<string, AttrValue> { ["a"] = AttrValue.FromS("x"), ["b"] = AttrValue.FromCanonicalN("7") }, storageKey)!;
        Assert.Equal([.. KeyCodec.EncodeKey(5, AttrValue.FromS("x"), AttrValue.FromCanonicalN("7")), .. storageKey], entry);
        Assert.Equal(storageKey, index.StorageKeyOf(entry).ToArray());
    }

    [Fact]
    public void MultiAttributeIndex_EntriesSortBySortAttributesInOrder_AndAreSparse()
    {
        var index = new SecondaryIndex(MultiIndex());
        byte[] Entry(string round, string seq, string pk) => index.EntryFor(new Dictionary<string, AttrValue>
        {
            ["tournament"] = AttrValue.FromS("W"), ["region"] = AttrValue.FromS("NA"), ["round"] = AttrValue.FromS(round), ["seq"] = AttrValue.FromCanonicalN(seq),
        }, KeyCodec.EncodeKey(3, AttrValue.FromS(pk), null))!;

        var entries = new[] { Entry("SEMI", "10", "a"), Entry("FINAL", "2", "b"), Entry("SEMI", "9", "c"), Entry("FINAL", "-1", "d") };
        var sorted = entries.OrderBy(e => e, Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList();
        Assert.Equal([entries[3], entries[1], entries[2], entries[0]], sorted);
        // Every entry of one partition shares the prefix: the index number, the hash and the composite partition value.
        var prefix = new byte[64];
        var n = KeyCodec.EncodePartitionPrefix(12, MultiAttributeKey.Partition([AttrValue.FromS("W"), AttrValue.FromS("NA")]), prefix);
        Assert.All(entries, e => Assert.True(e.AsSpan().StartsWith(prefix.AsSpan(0, n))));
        Assert.Equal(KeyCodec.EncodeKey(3, AttrValue.FromS("c"), null), index.StorageKeyOf(entries[2]).ToArray());
        Assert.Null(index.EntryFor(new Dictionary<string, AttrValue>
        {
            ["tournament"] = AttrValue.FromS("W"), ["round"] = AttrValue.FromS("SEMI"), ["seq"] = AttrValue.FromCanonicalN("1"),
        }, KeyCodec.EncodeKey(3, AttrValue.FromS("e"), null)));
    }
}
