using System.Text.Json;
using Serverless.Replicator.Triggers;

namespace Serverless.Engine.Tests.Replicator;

/// <summary>Lambda event-filter patterns over stream records shaped as GetRecords returns them.</summary>
public class EventFilterTests
{
    private const string Record = """
        {"awsRegion":"us-east-1","eventName":"MODIFY","dynamodb":{"Keys":{"pk":{"S":"order#17"}},
         "NewImage":{"pk":{"S":"order#17"},"status":{"S":"SHIPPED"},"total":{"N":"42.5"},"tags":{"SS":["a","b"]},"gift":{"BOOL":true}},
         "OldImage":{"pk":{"S":"order#17"},"status":{"S":"NEW"},"total":{"N":"40"}},"SizeBytes":12}}
        """;

    [Theory]
    [InlineData("""[{"eventName":["MODIFY"]}]""", true)]
    [InlineData("""[{"eventName":["INSERT","REMOVE"]}]""", false)]
    [InlineData("""[{"dynamodb":{"NewImage":{"status":{"S":["SHIPPED"]}}}}]""", true)]
    [InlineData("""[{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"order#"}]}}}}]""", true)]
    [InlineData("""[{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"user#"}]}}}}]""", false)]
    [InlineData("""[{"dynamodb":{"Keys":{"pk":{"S":[{"suffix":"#17"}]}}}}]""", true)]
    [InlineData("""[{"dynamodb":{"NewImage":{"status":{"S":[{"equals-ignore-case":"shipped"}]}}}}]""", true)]
    [InlineData("""[{"dynamodb":{"NewImage":{"total":{"N":[{"numeric":[">",40,"<=",50]}]}}}}]""", true)]
    [InlineData("""[{"dynamodb":{"NewImage":{"total":{"N":[{"numeric":["<",40]}]}}}}]""", false)]
    [InlineData("""[{"dynamodb":{"SizeBytes":[{"numeric":["=",12]}]}}]""", true)]
    [InlineData("""[{"dynamodb":{"NewImage":{"gift":{"BOOL":[true]}}}}]""", true)]
    [InlineData("""[{"dynamodb":{"NewImage":{"gift":{"BOOL":[false]}}}}]""", false)]
    [InlineData("""[{"dynamodb":{"NewImage":{"status":[{"exists":true}]}}}]""", true)]
    [InlineData("""[{"dynamodb":{"NewImage":{"coupon":[{"exists":true}]}}}]""", false)]
    [InlineData("""[{"dynamodb":{"NewImage":{"coupon":[{"exists":false}]}}}]""", true)]
    [InlineData("""[{"dynamodb":{"NewImage":{"status":{"S":[{"anything-but":["NEW","CANCELLED"]}]}}}}]""", true)]
    [InlineData("""[{"dynamodb":{"OldImage":{"status":{"S":[{"anything-but":"NEW"}]}}}}]""", false)]
    [InlineData("""[{"dynamodb":{"NewImage":{"status":{"S":[{"anything-but":{"prefix":"SHIP"}}]}}}}]""", false)]
    [InlineData("""[{"dynamodb":{"NewImage":{"tags":{"SS":["b"]}}}}]""", true)]
    [InlineData("""[{"eventName":["INSERT"]},{"dynamodb":{"NewImage":{"status":{"S":["SHIPPED"]}}}}]""", true)]
    [InlineData("""[{"eventName":["MODIFY"],"dynamodb":{"NewImage":{"status":{"S":["NEW"]}}}}]""", false)]
    [InlineData("""["{\"eventName\":[\"MODIFY\"]}"]""", true)]
    [InlineData("""{"Filters":[{"Pattern":"{\"eventName\":[\"REMOVE\"]}"}]}""", false)]
    [InlineData("""[{"$or":[{"eventName":["INSERT"]},{"dynamodb":{"NewImage":{"gift":{"BOOL":[true]}}}}]}]""", true)]
    [InlineData("", true)]
    public void Pattern_MatchesAsLambdaDoes(string criteria, bool expected)
    {
        using var record = JsonDocument.Parse(Record);
        Assert.Equal(expected, EventFilter.Parse(criteria).Matches(record.RootElement));
    }

    [Theory]
    [InlineData("""[{"eventName":"MODIFY"}]""")]
    [InlineData("""[{"eventName":[{"numeric":[">"]}]}]""")]
    [InlineData("""[{"eventName":[{"regex":"x"}]}]""")]
    [InlineData("""[{"eventName":[]}]""")]
    [InlineData("""not json""")]
    [InlineData("""[1]""")]
    public void Parse_RefusesMalformedPatterns(string criteria)
    {
        Assert.Throws<FormatException>(() => EventFilter.Parse(criteria));
    }

    [Fact]
    public void Mapping_Validate_NamesTheBadSetting()
    {
        var e = Assert.Throws<ArgumentException>(() => new TriggerMapping { Table = "T", Queue = "q", BatchSize = 10 }.Validate(3));
        Assert.Contains("Triggers:3:Queue", e.Message);
        e = Assert.Throws<ArgumentException>(() => new TriggerMapping { Table = "T", Queue = "orders", BatchSize = 10001 }.Validate(0));
        Assert.Contains("BatchSize", e.Message);
        e = Assert.Throws<ArgumentException>(() => new TriggerMapping { Table = "T", Queue = "orders", BatchingWindowSeconds = 301 }.Validate(0));
        Assert.Contains("BatchingWindowSeconds", e.Message);
        e = Assert.Throws<ArgumentException>(() => new TriggerMapping { Table = "T", Queue = "orders", FilterCriteria = "[1]" }.Validate(0));
        Assert.Contains("FilterCriteria", e.Message);
    }
}
