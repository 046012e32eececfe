using System.Buffers;
using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Tests.Model;

public class ItemCodecTests
{
    // Persisted format: if this changes, stored data no longer decodes. Do not update without a new version byte.
    private const string GoldenItem =
        "010a" + "0173" + "010368c3a9" + "016e" + "02052d31322e35" + "0162" + "030200ff" + "0174" + "0401" + "017a" + "05"
        + "016c" + "0606000000" + "02" + "010178" + "0400"
        + "016d" + "070f000000" + "02" + "016b" + "020137" + "02696e" + "070100000000"
        + "027373" + "0802" + "0161" + "0162"
        + "026e73" + "0902" + "0131" + "03302e35"
        + "026273" + "0a02" + "0101" + "020203";

    [Fact]
    public void Encode_RepresentativeItem_MatchesGoldenBytes()
    {
        var encoded = ItemCodec.Encode(ModelTestData.RepresentativeItem());
        Assert.Equal(GoldenItem, ModelTestData.Hex(encoded));
    }

    [Fact]
    public void Decode_GoldenBytes_GivesRepresentativeItem()
    {
        var item = ItemCodec.Decode(Convert.FromHexString(GoldenItem));
        Assert.True(ModelTestData.ItemsEqual(ModelTestData.RepresentativeItem(), item));
    }

    [Fact]
    public void Encode_BufferWriterAndArray_Agree()
    {
        var item = ModelTestData.RepresentativeItem();
        using var writer = new PooledBufferWriter(16);
        ItemCodec.Encode(item, writer);
        Assert.Equal(ItemCodec.Encode(item), writer.WrittenSpan.ToArray());
        Assert.Equal(ItemCodec.EncodedLength(item), writer.WrittenCount);
    }

    [Fact]
    public void RoundTrip_LargeAndDeepValues()
    {
        var big = new string('x', 70_000); // multi-byte varint lengths
        var inner = AttrValue.FromS("leaf");
        for (var i = 0; i < 40; i++) inner = i % 2 == 0 ? AttrValue.FromL([inner]) : AttrValue.FromM(new Dictionary<string, AttrValue>(StringComparer.Ordinal) { ["k" + i] = inner });
        var list = new List<AttrValue>();
        for (var i = 0; i < 300; i++) list.Add(AttrValue.FromCanonicalN(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var item = new Dictionary<string, AttrValue>(StringComparer.Ordinal)
        {
            ["big"] = AttrValue.FromS(big),
            ["deep"] = inner,
            ["many"] = AttrValue.FromL(list),
            ["emoji 😀"] = AttrValue.FromS("\0\uD83D\uDE00"),
            [""] = AttrValue.FromB([]),
        };
        var decoded = ItemCodec.Decode(ItemCodec.Encode(item));
        Assert.True(ModelTestData.ItemsEqual(item, decoded));
        Assert.Equal(ItemSize.Of(item), ItemCodec.ItemSizeOf(ItemCodec.Encode(item)));
    }

    [Fact]
    public void Decode_RejectsUnknownVersionAndTruncation()
    {
        var encoded = ItemCodec.Encode(ModelTestData.RepresentativeItem());
        var wrong = (byte[])encoded.Clone();
        wrong[0] = 2;
        Assert.Throws<InvalidDataException>(() => ItemCodec.Decode(wrong));
        for (var cut = 1; cut < encoded.Length; cut += 7)
        {
            Assert.Throws<InvalidDataException>(() => ItemCodec.Decode(encoded.AsSpan(0, cut)));
        }
    }

    private static string JsonOf(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void WriteJson_MatchesAttrJsonWriter()
    {
        var item = ModelTestData.RepresentativeItem();
        var encoded = ItemCodec.Encode(item);
        Assert.Equal(JsonOf(w => AttrJson.WriteItem(w, item)), JsonOf(w => ItemCodec.WriteJson(encoded, w)));
    }

    [Fact]
    public void WriteJson_DoesNotAllocate()
    {
        var encoded = ItemCodec.Encode(ModelTestData.RepresentativeItem());
        var buffer = new ArrayBufferWriter<byte>(4096);
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        for (var i = 0; i < 100; i++)
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            ItemCodec.WriteJson(encoded, writer);
            writer.Flush();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            ItemCodec.WriteJson(encoded, writer);
            writer.Flush();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void WriteJson_RawOutput_EscapesAndNests()
    {
        var item = new Dictionary<string, AttrValue>(StringComparer.Ordinal)
        {
            ["q\"k"] = AttrValue.FromS("a\"b\\c\n\u0001é😀"),
            ["w"] = AttrValue.FromL([AttrValue.FromM(new Dictionary<string, AttrValue>(StringComparer.Ordinal) { ["x"] = AttrValue.FromSS(["\t"]) })]),
        };
        var buffer = new ArrayBufferWriter<byte>();
        var n = ItemCodec.WriteJson(ItemCodec.Encode(item), buffer);
        Assert.Equal(buffer.WrittenCount, n);
        var json = Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Equal("{\"q\\\"k\":{\"S\":\"a\\\"b\\\\c\\n\\u0001é😀\"},\"w\":{\"L\":[{\"M\":{\"x\":{\"SS\":[\"\\t\"]}}}]}}", json);
        using var doc = JsonDocument.Parse(json);
        Assert.True(ModelTestData.ItemsEqual(item, AttrJson.ReadItem(doc.RootElement)));
    }

    [Fact]
    public void WriteJson_LargeValues_SpanChunks()
    {
        var item = new Dictionary<string, AttrValue>(StringComparer.Ordinal)
        {
            ["s"] = AttrValue.FromS(new string('"', 10_000)),
            ["b"] = AttrValue.FromB(new byte[30_000]),
        };
        var buffer = new ArrayBufferWriter<byte>(16);
        ItemCodec.WriteJson(ItemCodec.Encode(item), buffer);
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        Assert.True(ModelTestData.ItemsEqual(item, AttrJson.ReadItem(doc.RootElement)));
    }

    [Fact]
    public void WriteJson_AsPropertyValueOfWriter()
    {
        var encoded = ItemCodec.Encode(new Dictionary<string, AttrValue>(StringComparer.Ordinal) { ["a"] = AttrValue.FromS("x") });
        var json = JsonOf(w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("Item"u8);
            ItemCodec.WriteJson(encoded, w);
            w.WriteString("Next"u8, "y");
            w.WriteEndObject();
        });
        Assert.Equal("{\"Item\":{\"a\":{\"S\":\"x\"}},\"Next\":\"y\"}", json);
    }
}
