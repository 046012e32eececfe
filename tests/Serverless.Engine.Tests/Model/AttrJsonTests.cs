using System.Text;
using System.Text.Json;
using Serverless.Engine.Model;
using Serverless.Engine.Protocol;

namespace Serverless.Engine.Tests.Model;

public class AttrJsonTests
{
    private const string Invalid = "One or more parameter values were invalid: ";

    private static JsonDocument Parse(string json) =>
        JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = AttrJson.RequiredJsonMaxDepth });

    private static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    [Fact]
    public void ReadItem_AllTypes_RoundTripsThroughWriter()
    {
        const string json = """{"s":{"S":"hé"},"n":{"N":"-12.5"},"b":{"B":"AP8="},"t":{"BOOL":true},"z":{"NULL":true},"l":{"L":[{"S":"x"},{"BOOL":false}]},"m":{"M":{"k":{"N":"7"},"in":{"M":{}}}},"ss":{"SS":["a","b"]},"ns":{"NS":["1","0.5"]},"bs":{"BS":["AQ==","AgM="]}}""";
        using var doc = Parse(json);
        var item = AttrJson.ReadItem(doc.RootElement);
        Assert.True(ModelTestData.ItemsEqual(ModelTestData.RepresentativeItem(), item));
        Assert.Equal(json, Write(w => AttrJson.WriteItem(w, item)));
    }

    [Theory]
    [InlineData("01.50", "1.5")]
    [InlineData("-0", "0")]
    [InlineData("1e3", "1000")]
    public void ReadValue_CanonicalisesNumbers(string input, string expected)
    {
        using var doc = Parse($$"""{"N":"{{input}}"}""");
        Assert.Equal(expected, AttrJson.ReadValue(doc.RootElement).N);
    }

    [Fact]
    public void ReadValue_RefusesNumbersWithSurroundingSpaces()
    {
        // AWS does not trim: " 5 " is not a number (docs/validation-order.md).
        using var doc = Parse("""{"N":" 5 "}""");
        Assert.False(AttrJson.TryReadValue(doc.RootElement, out _, out var error));
        Assert.Contains("The parameter cannot be converted to a numeric value:  5 ", error.Message);
    }

    [Fact]
    public void ReadValue_NumberSet_CanonicalisesAndFindsDuplicatesAfterwards()
    {
        using var doc = Parse("""{"NS":["1","1.0"]}""");
        Assert.False(AttrJson.TryReadValue(doc.RootElement, out _, out var error));
        Assert.Equal(new AttrJsonError(AttrJsonErrorKind.Validation, "Input collection contains duplicates"), error);
    }

    [Fact]
    public void ReadValue_EmptyStringsAndBinaryAreAllowed()
    {
        using var doc = Parse("""{"L":[{"S":""},{"B":""},{"SS":[""]},{"BS":[""]}]}""");
        var v = AttrJson.ReadValue(doc.RootElement);
        Assert.Equal("", v.L[0].S);
        Assert.Empty(v.L[1].B);
    }

    [Fact]
    public void ReadValue_IgnoresNullAndUnknownMembers()
    {
        using var doc = Parse("""{"S":"a","N":null,"X":1}""");
        Assert.Equal("a", AttrJson.ReadValue(doc.RootElement).S);
    }

    [Theory]
    // Validation
    [InlineData("{}", "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")]
    [InlineData("""{"S":null}""", "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")]
    [InlineData("""{"M":{"a":{}}}""", "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")]
    [InlineData("""{"L":[{}]}""", "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")]
    [InlineData("""{"S":"a","N":"1"}""", "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")]
    [InlineData("""{"S":"a","N":"b"}""", "The parameter cannot be converted to a numeric value: b")]
    [InlineData("""{"S":"a","N":""}""", "The parameter cannot be converted to a numeric value")]
    [InlineData("""{"NS":["1",""]}""", "The parameter cannot be converted to a numeric value")]
    [InlineData("""{"N":"abc"}""", "The parameter cannot be converted to a numeric value: abc")]
    [InlineData("""{"N":"123456789012345678901234567890123456789"}""", "Attempting to store more than 38 significant digits in a Number")]
    [InlineData("""{"N":"-1.23456789012345678901234567890123456789"}""", "Attempting to store more than 38 significant digits in a Number")]
    [InlineData("""{"N":"1e126"}""", "Number overflow. Attempting to store a number with magnitude larger than supported range")]
    [InlineData("""{"N":"-1e126"}""", "Number overflow. Attempting to store a number with magnitude larger than supported range")]
    [InlineData("""{"N":"1e-131"}""", "Number underflow. Attempting to store a number with magnitude smaller than supported range")]
    [InlineData("""{"NULL":false}""", Invalid + "Null attribute value types must have the value of true")]
    [InlineData("""{"SS":[]}""", Invalid + "An string set  may not be empty")]
    [InlineData("""{"NS":[]}""", Invalid + "An number set  may not be empty")]
    [InlineData("""{"BS":[]}""", Invalid + "Binary sets should not be empty")]
    [InlineData("""{"SS":["a","a"]}""", Invalid + "Input collection [a, a] contains duplicates.")]
    [InlineData("""{"BS":["Yg==","Yg=="]}""", Invalid + "Input collection [Yg==, Yg==]of type BS contains duplicates.")]
    [InlineData("""{"NS":["1","1"]}""", "Input collection contains duplicates")]
    public void ReadValue_Validation(string json, string message)
    {
        using var doc = Parse(json);
        Assert.False(AttrJson.TryReadValue(doc.RootElement, out _, out var error));
        Assert.Equal(AttrJsonErrorKind.Validation, error.Kind);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("""{"S":23}""", "NUMBER_VALUE cannot be converted to String")]
    [InlineData("""{"S":34.56}""", "DECIMAL_VALUE cannot be converted to String")]
    [InlineData("""{"S":true}""", "TRUE_VALUE cannot be converted to String")]
    [InlineData("""{"N":false}""", "FALSE_VALUE cannot be converted to String")]
    [InlineData("""{"S":[]}""", "Unrecognized collection type class java.lang.String")]
    [InlineData("""{"S":{}}""", "Start of structure or map found where not expected")]
    [InlineData("""{"SS":["a",1]}""", "NUMBER_VALUE cannot be converted to String")]
    [InlineData("""{"BOOL":"true"}""", "Unexpected token received from parser")]
    [InlineData("""{"NULL":23}""", "NUMBER_VALUE cannot be converted to Boolean")]
    [InlineData("""{"BOOL":[]}""", "Unrecognized collection type class java.lang.Boolean")]
    [InlineData("""{"B":true}""", "only base-64-encoded strings are convertible to bytes")]
    [InlineData("""{"B":23}""", "only base-64-encoded strings are convertible to bytes")]
    [InlineData("""{"B":[]}""", "Unrecognized collection type class java.nio.ByteBuffer")]
    [InlineData("""{"B":"23456"}""", "Base64 encoded length is expected a multiple of 4 bytes but found: 5")]
    [InlineData("""{"B":"=+/="}""", "Invalid last non-pad Base64 character dectected")]
    [InlineData("""{"B":"+/+="}""", "Invalid last non-pad Base64 character dectected")]
    [InlineData("""{"L":"23"}""", "Unexpected field type")]
    [InlineData("""{"L":{}}""", "Start of structure or map found where not expected")]
    [InlineData("""{"SS":true}""", "Unexpected field type")]
    [InlineData("""{"M":23}""", "Unexpected field type")]
    [InlineData("""{"M":[]}""", "Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>")]
    [InlineData("""{"L":["23"]}""", "Unexpected value type in payload")]
    [InlineData("""{"M":{"a":[]}}""", "Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue")]
    // A serialization error anywhere beats a validation error found earlier.
    [InlineData("""{"L":[{"NULL":false},{"S":1}]}""", "NUMBER_VALUE cannot be converted to String")]
    [InlineData("""{"N":"x","S":1}""", "NUMBER_VALUE cannot be converted to String")]
    public void ReadValue_Serialization(string json, string message)
    {
        using var doc = Parse(json);
        Assert.False(AttrJson.TryReadValue(doc.RootElement, out _, out var error));
        Assert.Equal(AttrJsonErrorKind.Serialization, error.Kind);
        Assert.Equal(message, error.Message);
        var ex = error.ToException(m => "wrapped " + m);
        Assert.Equal("SerializationException", ex.ErrorType);
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void ReadItem_WrongKinds()
    {
        using var doc = Parse("""[1]""");
        Assert.False(AttrJson.TryReadItem(doc.RootElement, out _, out var error));
        Assert.Equal(AttrJsonErrorKind.Serialization, error.Kind);
        using var doc2 = Parse("""{"a":"x"}""");
        Assert.False(AttrJson.TryReadItem(doc2.RootElement, out _, out error));
        Assert.Equal("Unexpected value type in payload", error.Message);
    }

    [Fact]
    public void Errors_CanBeWrappedForContext()
    {
        using var doc = Parse("""{"N":"abc"}""");
        Assert.False(AttrJson.TryReadValue(doc.RootElement, out _, out var error));
        var ex = error.ToException(m => $"ExpressionAttributeValues contains invalid value: {m} for key :v");
        Assert.Equal("ValidationException", ex.ErrorType);
        Assert.Equal("ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a numeric value: abc for key :v", ex.Message);
        var thrown = Assert.Throws<DynamoException>(() => AttrJson.ReadValue(doc.RootElement));
        Assert.Equal("The parameter cannot be converted to a numeric value: abc", thrown.Message);
    }

    private static string Nested(int lists)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < lists; i++) sb.Append("{\"L\":[");
        sb.Append("{\"S\":\"x\"}");
        for (var i = 0; i < lists; i++) sb.Append("]}");
        return sb.ToString();
    }

    [Fact]
    public void Nesting_32LevelsAllowed_33Rejected()
    {
        using (var ok = Parse(Nested(AttrJson.MaxNestingDepth)))
        {
            Assert.True(AttrJson.TryReadValue(ok.RootElement, out _, out _));
        }

        using var bad = Parse(Nested(AttrJson.MaxNestingDepth + 1));
        Assert.False(AttrJson.TryReadValue(bad.RootElement, out _, out var error));
        Assert.Equal(AttrJsonErrorKind.Validation, error.Kind);
        Assert.Equal("Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit", error.Message);
    }

    [Fact]
    public void WriteValue_BinaryIsBase64()
    {
        Assert.Equal("""{"B":"AQID"}""", Write(w => AttrJson.WriteValue(w, AttrValue.FromB([1, 2, 3]))));
        Assert.Equal("""{"BS":["AQ=="]}""", Write(w => AttrJson.WriteValue(w, AttrValue.FromBS([[1]]))));
    }
}
