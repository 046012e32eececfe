using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace Serverless.IntegrationTests.GlobalTables;

/// <summary>
/// UpdateTable ReplicaUpdates refusals in AWS's words (recorded from live calls; docs/global-tables.md names the
/// source), and AWS's lack of a stream prerequisite: a KEYS_ONLY stream stays KEYS_ONLY, and the replica gets it too.
/// </summary>
public sealed class ReplicaUpdatesErrorsTests
{
    [Fact]
    public async Task ReplicaUpdates_AreRefusedWithAwsText_AndAnyStreamViewTypeIsKept()
    {
        await using var host = await GlobalTableTests.StartAsync("us-east-1,eu-west-1,ap-southeast-2");
        using var east = host.CreateClient();
        using var west = host.CreateClient(c => c.AuthenticationRegion = "eu-west-1");
        var schema = RegionsTests.Schema("keys");
        schema.StreamSpecification = new StreamSpecification { StreamEnabled = true, StreamViewType = StreamViewType.KEYS_ONLY };
        await east.CreateTableAsync(schema);

        await ExpectAsync("Update table operation with more than one create or delete replica actions not allowed", new UpdateTableRequest
        {
            TableName = "keys", ReplicaUpdates = [Create("eu-west-1"), Create("ap-southeast-2")],
        });
        await ExpectAsync("Update table operation with more than one type of replica actions not allowed.", new UpdateTableRequest
        {
            TableName = "keys", ReplicaUpdates = [Create("eu-west-1"), new ReplicationGroupUpdate { Delete = new DeleteReplicationGroupMemberAction { RegionName = "ap-southeast-2" } }],
        });
        await ExpectAsync("Region mars-north-1 is not supported. The latest version of global tables are only supported in the following regions: [ap-southeast-2, eu-west-1, us-east-1].",
            GlobalTableTests.AddReplica("keys", "mars-north-1"));
        await ExpectAsync("Update global table operation failed because one or more replicas were not part of the global table. Please retry the request without these replicas: [eu-west-1].",
            new UpdateTableRequest { TableName = "keys", ReplicaUpdates = [new ReplicationGroupUpdate { Delete = new DeleteReplicationGroupMemberAction { RegionName = "eu-west-1" } }] });
        await ExpectAsync("Update global table operation failed because one or more replicas were not part of the global table. Please retry the request without these replicas: [eu-west-1].",
            new UpdateTableRequest
            {
                TableName = "keys",
                ReplicaUpdates = [new ReplicationGroupUpdate { Update = new UpdateReplicationGroupMemberAction { RegionName = "eu-west-1", TableClassOverride = TableClass.STANDARD } }],
            });
        await ExpectAsync("There are no actions specified in the Replica Update Action of the request.", new UpdateTableRequest
        {
            TableName = "keys", ReplicaUpdates = [new ReplicationGroupUpdate { Update = new UpdateReplicationGroupMemberAction { RegionName = "eu-west-1" } }],
        });
        await ExpectAsync("Cannot add or delete the local region through ReplicaUpdates. Use CreateTable, DeleteTable, or UpdateTable as required.",
            GlobalTableTests.AddReplica("keys", "us-east-1"));

        // The same Create twice counts once; the KEYS_ONLY stream is no obstacle and stays as it is.
        var updating = await east.UpdateTableAsync(new UpdateTableRequest { TableName = "keys", ReplicaUpdates = [Create("eu-west-1"), Create("eu-west-1")] });
        Assert.Equal("KEYS_ONLY", updating.TableDescription.StreamSpecification.StreamViewType.Value);
        await GlobalTableTests.EventuallyAsync(async () => (await east.DescribeTableAsync("keys")).Table.Replicas is [{ ReplicaStatus.Value: "ACTIVE" }]);
        Assert.Equal("KEYS_ONLY", (await west.DescribeTableAsync("keys")).Table.StreamSpecification.StreamViewType.Value);

        await ExpectAsync("Failed to create a the new replica of table with name: \u2018keys\u2019 because one or more replicas already existed as tables.",
            GlobalTableTests.AddReplica("keys", "eu-west-1"));

        async Task ExpectAsync(string message, UpdateTableRequest request)
        {
            var e = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => east.UpdateTableAsync(request));
            Assert.Equal("ValidationException", e.ErrorCode);
            Assert.Equal(message, e.Message);
        }
    }

    private static ReplicationGroupUpdate Create(string region) => new() { Create = new CreateReplicationGroupMemberAction { RegionName = region } };
}
