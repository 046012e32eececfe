using System.Text;
using System.Text.Json;
using Serverless.Engine.AutoScaling;
using Serverless.Engine.Storage;

namespace Serverless.Engine.Tests.AutoScaling;

/// <summary>
/// Auto scaling state is persisted inside the table's catalog entry (catalog change records and the checkpoint
/// manifest). This golden string guards its member names and shapes; catalogs written before it read as none.
/// </summary>
public class AutoScalingFormatTests
{
    private const string GoldenAutoScaling =
        ",\"AutoScaling\":{\"Targets\":[{\"Dimension\":\"dynamodb:index:ReadCapacityUnits\",\"Index\":\"byArtist\",\"Arn\":\"arn:aws:application-autoscaling:eu-west-1:123456789012:scalable-target/0123456789abcdef0123456789abcdef0123\",\"CreatedAt\":1700000300.5,\"MinCapacity\":5,\"MaxCapacity\":500,\"RoleArn\":\"arn:aws:iam::123456789012:role/scaler\",\"ScaleInSuspended\":true,\"ScaleOutSuspended\":false,\"ScheduledSuspended\":false,\"LastScaleOutAt\":1700000400.25,\"LastScaleOutCapacity\":40,\"Policies\":[{\"Name\":\"reads\",\"Arn\":\"arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:6d8972f3-efc8-437c-92d1-6270f29a66e7:resource/dynamodb/table/Music/index/byArtist:policyName/reads\",\"MetricType\":\"DynamoDBReadCapacityUtilization\",\"TargetValue\":70,\"ScaleOutCooldown\":60,\"ScaleInCooldown\":300,\"DisableScaleIn\":false,\"CreatedAt\":1700000350,\"AlarmIds\":[\"a1\",\"a2\",\"a3\",\"a4\"]}]}],\"Activities\":[{\"ActivityId\":\"4d1308c0-bbcf-4514-a673-b0220ae38547\",\"Dimension\":\"dynamodb:index:ReadCapacityUnits\",\"Index\":\"byArtist\",\"Description\":\"Setting read capacity units to 40.\",\"Cause\":\"monitor alarm TargetTracking-table/Music/index/byArtist-AlarmHigh-a1 in state ALARM triggered policy reads\",\"StartTime\":1700000400.25,\"EndTime\":1700000400.5,\"StatusCode\":\"Successful\",\"StatusMessage\":\"Successfully set read capacity units to 40. Change successfully fulfilled by dynamodb.\"}]}}";

    [Fact]
    public void AutoScaling_SerialisesToGoldenJson()
    {
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(Sample(), StorageJsonContext.Default.TableDefinition));
        Assert.EndsWith(GoldenAutoScaling, json);
        Assert.Equal(Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(Bare(), StorageJsonContext.Default.TableDefinition))[..^1] + GoldenAutoScaling, json);
    }

    [Fact]
    public void AutoScaling_ReadsGoldenJson_AndOldCatalogsHaveNone()
    {
        var bare = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(Bare(), StorageJsonContext.Default.TableDefinition));
        Assert.Null(JsonSerializer.Deserialize(bare, StorageJsonContext.Default.TableDefinition)!.AutoScaling);
        var state = JsonSerializer.Deserialize(bare[..^1] + GoldenAutoScaling, StorageJsonContext.Default.TableDefinition)!.AutoScaling!;
        var target = Assert.Single(state.Targets);
        Assert.Equal("byArtist", target.Index);
        Assert.True(target.IsRead);
        Assert.Equal(500, target.MaxCapacity);
        Assert.True(target.ScaleInSuspended);
        Assert.Equal(40, target.LastScaleOutCapacity);
        Assert.Null(target.LastScaleInAt);
        var policy = Assert.Single(target.Policies);
        Assert.Equal(70, policy.TargetValue);
        Assert.Equal(300, policy.ScaleInCooldown);
        Assert.Equal(4, policy.AlarmIds.Count);
        var activity = Assert.Single(state.Activities);
        Assert.Equal("Successful", activity.StatusCode);
        Assert.Equal(1700000400.5, activity.EndTime);
    }

    [Fact]
    public void Clone_CopiesTargetsDeeply()
    {
        var original = Sample();
        var copy = original.Clone();
        copy.AutoScaling!.Targets[0].MaxCapacity = 1;
        copy.AutoScaling.Targets[0].Policies.Clear();
        copy.AutoScaling.Activities.Clear();
        Assert.Equal(500, original.AutoScaling!.Targets[0].MaxCapacity);
        Assert.Single(original.AutoScaling.Targets[0].Policies);
        Assert.Single(original.AutoScaling.Activities);
    }

    private static TableDefinition Bare() => new()
    {
        Name = "Music", TableNumber = 7, TableId = "0f8fad5b-d9cb-469f-a165-70867728950e", Region = "eu-west-1", AccountId = "123456789012",
        HashKey = new KeyAttribute("Artist", "S"), AttributeDefinitions = [new KeyAttribute("Artist", "S")],
        ReadCapacityUnits = 5, WriteCapacityUnits = 10, CreationDateTime = 1700000000.25,
    };

    private static TableDefinition Sample()
    {
        var table = Bare();
        table.AutoScaling = new AutoScalingDefinition
        {
            Targets =
            [
                new ScalableTargetDefinition
                {
                    Dimension = "dynamodb:index:ReadCapacityUnits", Index = "byArtist", CreatedAt = 1700000300.5,
                    Arn = "arn:aws:application-autoscaling:eu-west-1:123456789012:scalable-target/0123456789abcdef0123456789abcdef0123",
                    MinCapacity = 5, MaxCapacity = 500, RoleArn = "arn:aws:iam::123456789012:role/scaler", ScaleInSuspended = true,
                    LastScaleOutAt = 1700000400.25, LastScaleOutCapacity = 40,
                    Policies =
                    [
                        new ScalingPolicyDefinition
                        {
                            Name = "reads", MetricType = "DynamoDBReadCapacityUtilization", TargetValue = 70, ScaleOutCooldown = 60, ScaleInCooldown = 300,
                            DisableScaleIn = false, CreatedAt = 1700000350, AlarmIds = ["a1", "a2", "a3", "a4"],
                            Arn = "arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:6d8972f3-efc8-437c-92d1-6270f29a66e7:resource/dynamodb/table/Music/index/byArtist:policyName/reads",
                        },
                    ],
                },
            ],
            Activities =
            [
                new ScalingActivityDefinition
                {
                    ActivityId = "4d1308c0-bbcf-4514-a673-b0220ae38547", Dimension = "dynamodb:index:ReadCapacityUnits", Index = "byArtist",
                    Description = "Setting read capacity units to 40.", Cause = "monitor alarm TargetTracking-table/Music/index/byArtist-AlarmHigh-a1 in state ALARM triggered policy reads",
                    StartTime = 1700000400.25, EndTime = 1700000400.5, StatusCode = "Successful",
                    StatusMessage = "Successfully set read capacity units to 40. Change successfully fulfilled by dynamodb.",
                },
            ],
        };
        return table;
    }
}
