using Serverless.Engine.Operations;

namespace Serverless.Engine.Kinesis;

/// <summary>The Kinesis Data Streams API (<c>Kinesis_20131202</c>, JSON 1.1), served on the DynamoDB endpoint.</summary>
public static class KinesisApi
{
    public static readonly ApiService Service = new("Kinesis_20131202.", "kinesis", ApiService.Json11, new Dictionary<string, OperationHandler>());
}
