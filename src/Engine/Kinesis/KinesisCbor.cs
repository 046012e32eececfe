using System.Buffers;
using System.Formats.Cbor;
using System.Text.Json;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Kinesis;

/// <summary>
/// The CBOR form of the JSON protocols (<c>application/x-amz-cbor-1.1</c>), which the Java SDK and the KCL use for
/// Kinesis. The request handler converts a CBOR body to JSON before it parses it and its JSON answer back to CBOR,
/// so operations see JSON only. The two forms differ in two types: a blob is a CBOR byte string (a base64 string in
/// JSON), and a timestamp is CBOR tag 1 over epoch seconds (a number in JSON). Blobs and timestamps are recognised in
/// answers by their member names: <c>Data</c>, and names ending in <c>Timestamp</c>.
/// </summary>
public static class KinesisCbor
{
    public const string ContentType = "application/x-amz-cbor-1.1";
    private const int MaxDepth = 64;

    public static bool IsCbor(string? contentType) =>
        contentType != null && contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The JSON text of a CBOR request body, in an array rented from <see cref="ArrayPool{T}.Shared"/> (the caller
    /// returns it). Malformed CBOR is a SerializationException.
    /// </summary>
    public static (byte[] Buffer, int Length) ToJson(ReadOnlySpan<byte> cbor)
    {
        var output = new ArrayBufferWriter<byte>(Math.Max(256, cbor.Length * 2));
        try
        {
            using (var writer = new Utf8JsonWriter(output))
            {
                if (cbor.Length == 0)
                {
                    writer.WriteStartObject();
                    writer.WriteEndObject();
                }
                else
                {
                    var reader = new CborReader(cbor.ToArray(), CborConformanceMode.Lax, allowMultipleRootLevelValues: false);
                    CopyValue(reader, writer, 0);
                    if (reader.BytesRemaining != 0) throw DynamoErrors.Serialization("");
                }
            }
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException or FormatException or OverflowException)
        {
            throw DynamoErrors.Serialization("");
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, output.WrittenCount));
        output.WrittenSpan.CopyTo(buffer);
        return (buffer, output.WrittenCount);
    }

    /// <summary>The CBOR form of a JSON answer (errors included).</summary>
    public static byte[] ToCbor(ReadOnlySpan<byte> json)
    {
        var writer = new CborWriter(CborConformanceMode.Lax, convertIndefiniteLengthEncodings: false);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
        if (!reader.Read()) return [0xA0]; // empty map
        WriteJsonValue(ref reader, writer, null);
        return writer.Encode();
    }

    private static void CopyValue(CborReader reader, Utf8JsonWriter writer, int depth)
    {
        if (depth > MaxDepth) throw DynamoErrors.Serialization("");
        switch (reader.PeekState())
        {
            case CborReaderState.StartMap:
                reader.ReadStartMap();
                writer.WriteStartObject();
                while (reader.PeekState() != CborReaderState.EndMap)
                {
                    var name = reader.PeekState() == CborReaderState.TextString ? reader.ReadTextString() : throw DynamoErrors.Serialization("");
                    writer.WritePropertyName(name);
                    CopyValue(reader, writer, depth + 1);
                }

                reader.ReadEndMap();
                writer.WriteEndObject();
                break;
            case CborReaderState.StartArray:
                reader.ReadStartArray();
                writer.WriteStartArray();
                while (reader.PeekState() != CborReaderState.EndArray) CopyValue(reader, writer, depth + 1);
                reader.ReadEndArray();
                writer.WriteEndArray();
                break;
            case CborReaderState.TextString or CborReaderState.StartIndefiniteLengthTextString:
                writer.WriteStringValue(reader.ReadTextString());
                break;
            case CborReaderState.ByteString or CborReaderState.StartIndefiniteLengthByteString:
                writer.WriteBase64StringValue(reader.ReadByteString());
                break;
            case CborReaderState.UnsignedInteger:
                writer.WriteNumberValue(reader.ReadUInt64());
                break;
            case CborReaderState.NegativeInteger:
                writer.WriteNumberValue(reader.ReadInt64());
                break;
            case CborReaderState.HalfPrecisionFloat or CborReaderState.SinglePrecisionFloat or CborReaderState.DoublePrecisionFloat:
                writer.WriteNumberValue(reader.ReadDouble());
                break;
            case CborReaderState.Boolean:
                writer.WriteBooleanValue(reader.ReadBoolean());
                break;
            case CborReaderState.Null or CborReaderState.SimpleValue:
                reader.SkipValue();
                writer.WriteNullValue();
                break;
            case CborReaderState.Tag:
                // Tag 1 (epoch seconds) is how timestamps travel; any tag's content is the value JSON carries.
                reader.ReadTag();
                CopyValue(reader, writer, depth + 1);
                break;
            default:
                throw DynamoErrors.Serialization("");
        }
    }

    private static void WriteJsonValue(ref Utf8JsonReader reader, CborWriter writer, string? member)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                writer.WriteStartMap(null);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var name = reader.GetString()!;
                    writer.WriteTextString(name);
                    reader.Read();
                    WriteJsonValue(ref reader, writer, name);
                }

                writer.WriteEndMap();
                break;
            case JsonTokenType.StartArray:
                writer.WriteStartArray(null);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) WriteJsonValue(ref reader, writer, member);
                writer.WriteEndArray();
                break;
            case JsonTokenType.String:
                if (member == "Data" && reader.TryGetBytesFromBase64(out var bytes)) writer.WriteByteString(bytes);
                else writer.WriteTextString(reader.GetString()!);
                break;
            case JsonTokenType.Number:
                if (member != null && member.EndsWith("Timestamp", StringComparison.Ordinal)) writer.WriteTag(CborTag.UnixTimeSeconds);
                if (reader.TryGetInt64(out var whole)) writer.WriteInt64(whole);
                else writer.WriteDouble(reader.GetDouble());
                break;
            case JsonTokenType.True:
                writer.WriteBoolean(true);
                break;
            case JsonTokenType.False:
                writer.WriteBoolean(false);
                break;
            default:
                writer.WriteNull();
                break;
        }
    }
}
