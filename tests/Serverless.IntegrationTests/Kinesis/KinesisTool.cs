using System.Text;
using System.Text.Json;
using Serverless.IntegrationTests.Clients;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.Kinesis;

/// <summary>One Kinesis record as boto3's get_records returned it, with its data parsed when it is JSON.</summary>
internal sealed record DumpedRecord(string Shard, string SequenceNumber, string PartitionKey, byte[] Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement.Clone();
}

/// <summary>Runs <c>kinesis_tool.py</c> (boto3's kinesis and dynamodbstreams clients, botocore 1.43) against a host.</summary>
internal static class KinesisTool
{
    public static Task<string> RunAsync(HostProcess host, string command) =>
        PythonScript.RunWithPathPythonAsync("../Kinesis/kinesis_tool.py", host, new Dictionary<string, string> { ["KTOOL_CMD"] = command });

    /// <summary>Creates a stream and returns its ARN.</summary>
    public static async Task<string> CreateStreamAsync(HostProcess host, string name, int shards, int retentionHours = 24)
    {
        var output = await RunAsync(host, $"create {name} {shards} {retentionHours}");
        return output.Split('\n').Single(l => l.StartsWith("ARN ", StringComparison.Ordinal))[4..].Trim();
    }

    public static async Task<List<DumpedRecord>> DumpAsync(HostProcess host, string name)
    {
        var output = await RunAsync(host, $"dump {name}");
        Assert.Contains("END", output);
        var records = new List<DumpedRecord>();
        foreach (var line in output.Split('\n'))
        {
            if (!line.StartsWith("REC ", StringComparison.Ordinal)) continue;
            var r = JsonDocument.Parse(line[4..]).RootElement;
            records.Add(new DumpedRecord(r.GetProperty("shard").GetString()!, r.GetProperty("seq").GetString()!, r.GetProperty("pk").GetString()!,
                Convert.FromBase64String(r.GetProperty("data").GetString()!)));
        }

        return records;
    }

    /// <summary>Dumps the stream until <paramref name="done"/> holds, or fails at the deadline.</summary>
    public static async Task<List<DumpedRecord>> WaitForAsync(HostProcess host, string name, Func<List<DumpedRecord>, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var records = await DumpAsync(host, name);
            if (done(records)) return records;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{what}: not there after {timeout}; {records.Count} records:\n" + string.Join("\n", records.Select(r => Encoding.UTF8.GetString(r.Data))));
            await Task.Delay(500);
        }
    }

    public static async Task<int> DynamoDbStreamCountAsync(HostProcess host, string streamArn)
    {
        var output = await RunAsync(host, $"ddbstream {streamArn}");
        return int.Parse(output.Split('\n').Single(l => l.StartsWith("DDBSTREAM ", StringComparison.Ordinal))[10..].Trim());
    }
}
