using Serverless.IntegrationTests.Api;
using Serverless.IntegrationTests.Batch;
using Serverless.IntegrationTests.Indexes;
using Serverless.IntegrationTests.Infrastructure;
using Serverless.IntegrationTests.Query;
using Serverless.IntegrationTests.Transactions;

namespace Serverless.IntegrationTests.Backends;

/// <summary>
/// The blob backend's settings, as a test host uses them: the store lives in blob storage (Azurite), with a short
/// lease so a restart of the same instance does not wait long.
/// </summary>
public static class BlobBackend
{
    public static Dictionary<string, string> Environment(AzuriteProcess azurite, IReadOnlyDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString, ["Engine__Blob__LeaseSeconds"] = "15", ["Engine__Blob__Standby"] = "true",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>()) environment[key] = value;
        return environment;
    }

    /// <summary>Azurite when <paramref name="onBlobStorage"/>, else null (the data-directory backend).</summary>
    public static async Task<AzuriteProcess?> StartAsync(bool onBlobStorage) => onBlobStorage ? await AzuriteProcess.StartAsync() : null;

    /// <summary>Options for a host on the blob backend when <paramref name="azurite"/> is given, else on a data directory.</summary>
    public static HostProcessOptions Options(AzuriteProcess? azurite, IReadOnlyDictionary<string, string>? extra = null) => new()
    {
        Environment = azurite == null ? new Dictionary<string, string>(extra ?? new Dictionary<string, string>()) : Environment(azurite, extra),
        StartTimeout = TimeSpan.FromSeconds(90),
    };
}

/// <summary>The shared host of <see cref="BlobHostCollection"/>: one Azurite and one host whose store lives in it.</summary>
public sealed class BlobHostFixture : SharedHostFixture
{
    private AzuriteProcess? _azurite;

    public AzuriteProcess Azurite => _azurite ?? throw new InvalidOperationException("Azurite has not started.");

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_azurite is not null) await _azurite.DisposeAsync();
    }

    protected override async Task<HostProcess> StartHostAsync()
    {
        _azurite = await AzuriteProcess.StartAsync();
        return await HostProcess.StartAsync(BlobBackend.Options(_azurite));
    }
}

/// <summary>
/// The shared scenarios that exercise storage (items, updates, queries, scans, batches, transactions, indexes) run a
/// second time, unchanged, against a host on the blob backend: each class below is its data-directory twin in
/// another collection. Streams, TTL and backups/PITR, which start hosts of their own, run on both backends as theories.
/// </summary>
[CollectionDefinition(Name)]
public sealed class BlobHostCollection : ICollectionFixture<BlobHostFixture>
{
    public const string Name = "Shared host on blob storage";
}

[Collection(BlobHostCollection.Name)]
public sealed class BlobBackendCheck(BlobHostFixture fixture)
{
    [Fact]
    public async Task TheSharedBlobHost_KeepsItsStoreInBlobStorage()
    {
        // The banner names the container the data directory caches, and a write reaches Azurite's blobs.
        Assert.Contains("a cache of blob container", fixture.Host.Output);
        using var client = fixture.Host.CreateClient();
        var table = await ApiTables.CreateAsync(client, "blobcheck");
        await client.PutItemAsync(table, new() { ["pk"] = ApiTables.S("a") });
        var blobs = Directory.EnumerateFiles(fixture.Azurite.Location, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(blobs > 0, "Azurite holds no data");
    }
}

[Collection(BlobHostCollection.Name)]
public sealed class ItemTestsOnBlob(BlobHostFixture fixture) : ItemTests(fixture);

[Collection(BlobHostCollection.Name)]
public sealed class UpdateItemTestsOnBlob(BlobHostFixture fixture) : UpdateItemTests(fixture);

[Collection(BlobHostCollection.Name)]
public sealed class QueryTestsOnBlob(BlobHostFixture fixture) : QueryTests(fixture);

[Collection(BlobHostCollection.Name)]
public sealed class ScanTestsOnBlob(BlobHostFixture fixture) : ScanTests(fixture);

[Collection(BlobHostCollection.Name)]
public sealed class BatchTestsOnBlob(BlobHostFixture fixture) : BatchTests(fixture);

[Collection(BlobHostCollection.Name)]
public sealed class TransactionTestsOnBlob(BlobHostFixture fixture) : TransactionTests(fixture);

[Collection(BlobHostCollection.Name)]
public sealed class IndexTestsOnBlob(BlobHostFixture fixture) : IndexTests(fixture);
