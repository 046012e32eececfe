using System.Formats.Cbor;
using System.Net;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Kinesis;

/// <summary>
/// Kinesis's CBOR protocol (<c>application/x-amz-cbor-1.1</c>, what the Java SDK and the KCL send), as raw signed HTTP
/// against a host that verifies signatures: blobs travel as CBOR byte strings and timestamps as tag 1, and the answers,
/// errors included, come back in CBOR.
/// </summary>
public sealed class KinesisCborTests
{
    private const string Cbor = "application/x-amz-cbor-1.1";
    private static readonly SigV4Key Key = new("AKIAKINESISCBOR00001", "cbor-secret");

    [Fact]
    public async Task CborRequests_AreAnsweredInCbor_WithByteStringsAndEpochTags()
    {
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string>
            {
                ["Auth__Keys__0__AccessKeyId"] = Key.AccessKeyId,
                ["Auth__Keys__0__SecretAccessKey"] = Key.SecretAccessKey,
                ["Auth__Keys__0__Principal"] = "arn:aws:iam::000000000000:user/kcl",
                ["Auth__Keys__0__Policy"] = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kinesis:*","admin:*"],"Resource":"*"}]}""",
            },
        });
        using var http = host.CreateHttpClient();

        var (status, created) = await CallAsync(http, "CreateStream", w =>
        {
            w.WriteTextString("StreamName");
            w.WriteTextString("cbor-stream");
            w.WriteTextString("ShardCount");
            w.WriteInt32(1);
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(created);

        var payload = new byte[] { 0, 1, 2, 0xFE, 0xFF, (byte)'k', (byte)'c', (byte)'l' };
        (status, var put) = await CallAsync(http, "PutRecord", w =>
        {
            w.WriteTextString("StreamName");
            w.WriteTextString("cbor-stream");
            w.WriteTextString("PartitionKey");
            w.WriteTextString("pk-1");
            w.WriteTextString("Data");
            w.WriteByteString(payload);
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("shardId-000000000000", put["ShardId"]);
        var sequence = Assert.IsType<string>(put["SequenceNumber"]);

        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60;
        (status, var iterator) = await CallAsync(http, "GetShardIterator", w =>
        {
            w.WriteTextString("StreamName");
            w.WriteTextString("cbor-stream");
            w.WriteTextString("ShardId");
            w.WriteTextString("shardId-000000000000");
            w.WriteTextString("ShardIteratorType");
            w.WriteTextString("AT_TIMESTAMP");
            w.WriteTextString("Timestamp");
            w.WriteTag(CborTag.UnixTimeSeconds);
            w.WriteInt64(before);
        });
        Assert.Equal(HttpStatusCode.OK, status);

        (status, var records) = await CallAsync(http, "GetRecords", w =>
        {
            w.WriteTextString("ShardIterator");
            w.WriteTextString((string)iterator["ShardIterator"]!);
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var record = Assert.Single(Assert.IsType<List<object?>>(records["Records"]));
        var fields = Assert.IsType<Dictionary<string, object?>>(record);
        Assert.Equal(payload, Assert.IsType<byte[]>(fields["Data"]));
        Assert.Equal(sequence, fields["SequenceNumber"]);
        Assert.Equal("pk-1", fields["PartitionKey"]);
        var arrival = Assert.IsType<TaggedValue>(fields["ApproximateArrivalTimestamp"]);
        Assert.Equal(CborTag.UnixTimeSeconds, arrival.Tag);
        Assert.InRange(Convert.ToDouble(arrival.Value), before, before + 600);
        Assert.IsType<string>(records["NextShardIterator"]);

        (status, var summary) = await CallAsync(http, "DescribeStreamSummary", w =>
        {
            w.WriteTextString("StreamName");
            w.WriteTextString("cbor-stream");
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var description = Assert.IsType<Dictionary<string, object?>>(summary["StreamDescriptionSummary"]);
        Assert.Equal(CborTag.UnixTimeSeconds, Assert.IsType<TaggedValue>(description["StreamCreationTimestamp"]).Tag);

        (status, var error) = await CallAsync(http, "DescribeStream", w =>
        {
            w.WriteTextString("StreamName");
            w.WriteTextString("no-such-stream");
        });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("ResourceNotFoundException", error["__type"]);
        Assert.Equal("Stream no-such-stream under account 000000000000 not found.", error["message"]);

        // Malformed CBOR is a SerializationException, answered in CBOR; the host keeps serving.
        for (var i = 0; i < 3; i++)
        {
            using var bad = new HttpRequestMessage(HttpMethod.Post, new Uri(http.BaseAddress!, "/")) { Content = new ByteArrayContent([0xBF, 0x63, 0x61]) };
            bad.Content.Headers.TryAddWithoutValidation("Content-Type", Cbor);
            bad.Headers.TryAddWithoutValidation("X-Amz-Target", "Kinesis_20131202.ListStreams");
            SigV4Signer.Sign(bad, [0xBF, 0x63, 0x61], Key, "us-east-1", "kinesis", DateTime.UtcNow);
            using var badResponse = await http.SendAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);
            var badBody = Assert.IsType<Dictionary<string, object?>>(Read(new CborReader(await badResponse.Content.ReadAsByteArrayAsync())));
            Assert.EndsWith("SerializationException", Assert.IsType<string>(badBody["__type"]));
        }

        (status, _) = await CallAsync(http, "ListStreams", _ => { });
        Assert.Equal(HttpStatusCode.OK, status);

        // A CBOR body signed with the wrong secret is refused like any other.
        var badKey = Key with { SecretAccessKey = "wrong" };
        (status, error) = await CallAsync(http, "ListStreams", _ => { }, badKey);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("InvalidSignatureException", Assert.IsType<string>(error["__type"]).Split('#')[^1]);
    }

    private sealed record TaggedValue(CborTag Tag, object? Value);

    private static async Task<(HttpStatusCode Status, Dictionary<string, object?> Body)> CallAsync(HttpClient http, string operation, Action<CborWriter> members, SigV4Key? key = null)
    {
        var writer = new CborWriter();
        writer.WriteStartMap(null);
        members(writer);
        writer.WriteEndMap();
        var body = writer.Encode();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(http.BaseAddress!, "/")) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", Cbor);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "Kinesis_20131202." + operation);
        SigV4Signer.Sign(request, body, key ?? Key, "us-east-1", "kinesis", DateTime.UtcNow);
        using var response = await http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(Cbor, response.Content.Headers.ContentType?.MediaType);
        var reader = new CborReader(bytes);
        return (response.StatusCode, Assert.IsType<Dictionary<string, object?>>(Read(reader)));
    }

    private static object? Read(CborReader reader)
    {
        switch (reader.PeekState())
        {
            case CborReaderState.StartMap:
                var map = new Dictionary<string, object?>();
                reader.ReadStartMap();
                while (reader.PeekState() != CborReaderState.EndMap) map[reader.ReadTextString()] = Read(reader);
                reader.ReadEndMap();
                return map;
            case CborReaderState.StartArray:
                var list = new List<object?>();
                reader.ReadStartArray();
                while (reader.PeekState() != CborReaderState.EndArray) list.Add(Read(reader));
                reader.ReadEndArray();
                return list;
            case CborReaderState.Tag:
                var tag = reader.ReadTag();
                return new TaggedValue(tag, Read(reader));
            case CborReaderState.TextString:
                return reader.ReadTextString();
            case CborReaderState.ByteString:
                return reader.ReadByteString();
            case CborReaderState.UnsignedInteger or CborReaderState.NegativeInteger:
                return reader.ReadInt64();
            case CborReaderState.HalfPrecisionFloat or CborReaderState.SinglePrecisionFloat or CborReaderState.DoublePrecisionFloat:
                return reader.ReadDouble();
            case CborReaderState.Boolean:
                return reader.ReadBoolean();
            default:
                reader.ReadNull();
                return null;
        }
    }
}
