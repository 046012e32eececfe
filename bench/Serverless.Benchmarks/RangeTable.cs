using Serverless.Engine;

namespace Serverless.Benchmarks;

/// <summary>Loads a hash+range table of <c>partitions x perPartition</c> items (~100-byte values) with BatchWriteItem.</summary>
internal static class RangeTable
{
    public const string Name = "ranged";
    public const int PerPartition = 100;

    public static async Task<ApiClient> LoadAsync(DynamoEngine engine, int items)
    {
        var client = new ApiClient(engine);
        await client.CallAsync(Targets.CreateTable, Requests.CreateRangeTable(Name));
        var value = Requests.Value(100, 3);
        for (var i = 0; i < items; i += 25)
            await client.CallAsync(Targets.BatchWriteItem, Requests.BatchPutRange(Name, i, Math.Min(25, items - i), PerPartition, value));
        return client;
    }
}
