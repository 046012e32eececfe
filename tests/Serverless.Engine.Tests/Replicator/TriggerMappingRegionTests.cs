using Serverless.Replicator.Triggers;

namespace Serverless.Engine.Tests.Replicator;

/// <summary>Which region's table a mapping reads: its Region, the region of Lambda's EventSourceArn, or the default.</summary>
public class TriggerMappingRegionTests
{
    [Fact]
    public void WithoutARegion_TheMappingReadsTheHostsDefaultRegion()
    {
        var mapping = new TriggerMapping { Table = "Orders", Queue = "audit-log" };
        mapping.Validate(0);
        Assert.Null(mapping.Region);
        Assert.Equal("us-east-1", mapping.RegionOr("us-east-1"));
        Assert.Equal("Orders-audit-log", mapping.CheckpointName);
    }

    [Theory]
    [InlineData("arn:aws:dynamodb:eu-west-1:000000000000:table/Orders/stream/2026-12-01T16:21:53.774")]
    [InlineData("arn:aws:dynamodb:eu-west-1:123456789012:table/Orders")]
    public void EventSourceArn_GivesTableAndRegion(string arn)
    {
        var mapping = new TriggerMapping { EventSourceArn = arn, Queue = "audit-log" };
        mapping.Validate(0);
        Assert.Equal("Orders", mapping.Table);
        Assert.Equal("eu-west-1", mapping.Region);
        Assert.Equal("eu-west-1", mapping.RegionOr("us-east-1"));
        Assert.Equal("Orders-audit-log", mapping.CheckpointName);
    }

    [Theory]
    [InlineData("Orders", null, "arn:aws:dynamodb:eu-west-1:000000000000:table/Orders/stream/x")]
    [InlineData("", "eu-west-1", "arn:aws:dynamodb:eu-west-1:000000000000:table/Orders")]
    public void EventSourceArn_AgreeingWithTableAndRegion_IsAccepted(string table, string? region, string arn)
    {
        var mapping = new TriggerMapping { Table = table, Region = region, EventSourceArn = arn, Queue = "audit-log" };
        mapping.Validate(3);
        Assert.Equal(("Orders", "eu-west-1"), (mapping.Table, mapping.Region));
    }

    [Theory]
    [InlineData("Other", null, "arn:aws:dynamodb:eu-west-1:000000000000:table/Orders", "Triggers:2:Table 'Other' differs from the table of EventSourceArn, 'Orders'.")]
    [InlineData("", "us-east-1", "arn:aws:dynamodb:eu-west-1:000000000000:table/Orders", "Triggers:2:Region 'us-east-1' differs from the region of EventSourceArn, 'eu-west-1'.")]
    [InlineData("", null, "arn:aws:sqs:eu-west-1:000000000000:orders", "Triggers:2:EventSourceArn 'arn:aws:sqs:eu-west-1:000000000000:orders' is not a DynamoDB table or stream ARN")]
    [InlineData("Orders", "EU_WEST", null, "Triggers:2:Region 'EU_WEST' is not a region name (like us-east-1).")]
    public void ContradictionsAndBadNames_AreRefusedNamingTheSetting(string table, string? region, string? arn, string message)
    {
        var mapping = new TriggerMapping { Table = table, Region = region, EventSourceArn = arn, Queue = "audit-log" };
        var e = Assert.Throws<ArgumentException>(() => mapping.Validate(2));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }
}
