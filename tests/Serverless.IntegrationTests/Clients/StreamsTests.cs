using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Clients;

/// <summary>
/// DynamoDB Streams through boto3's <c>dynamodbstreams</c> client (the AWS SDK for .NET's streams client is not
/// available from this machine's NuGet mirror): <c>streams_test.py</c> covers every view type and iterator type,
/// paging, shard roll-over (1 MiB change-log segments), disabling and re-enabling, TTL removes, and iterator
/// expiry and trimming with the host's adjustable clock.
/// </summary>
public sealed class StreamsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StreamsApi_ThroughBoto3(bool onBlobStorage)
    {
        await using var azurite = await Backends.BlobBackend.StartAsync(onBlobStorage);
        await using var host = await HostProcess.StartAsync(Backends.BlobBackend.Options(azurite, new Dictionary<string, string>
        {
            ["LocalHost__ClockControl"] = "true",
            ["Engine__ChangeLog__SegmentBytes"] = "1048576",
        }));
        var output = await PythonScript.RunAsync("streams_test.py", host);
        Assert.Contains("OK", output);
        Assert.Contains("test_shard_rollover", output);
    }
}
