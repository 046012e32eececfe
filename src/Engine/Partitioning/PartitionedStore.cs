using System.Reflection;
using System.Text.Json;

namespace Serverless.Engine.Partitioning;

/// <summary>
/// Opens a store split into <see cref="EngineOptions.Partitions"/> partitions: one whole store per partition (its
/// own FASTER store, change log, checkpoints and lease) under <c>{DataDirectory}/p{k}</c> or in blob container
/// <c>{Container}-p{k}</c>, the same machinery that runs one store per region. Partition 0's engine is the one the
/// host sees; it carries the <see cref="PartitionRouter"/> (docs/scale-out.md).
/// </summary>
public static class PartitionedStore
{
    /// <summary>The file in the data directory that fixes P when the store is created.</summary>
    public const string LayoutFile = "partitions.json";

    internal static async Task<DynamoEngine> OpenAsync(EngineOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var count = options.Partitions;
        if (!options.InMemory) CheckLayout(options.DataDirectory, count);
        if (options.Blob.ConnectionString is { Length: > 0 }) await CheckBlobLayoutAsync(options.Blob, count, cancellationToken).ConfigureAwait(false);
        var engines = new DynamoEngine[count];
        try
        {
            for (var k = 0; k < count; k++)
                engines[k] = await DynamoEngine.OpenAsync(OptionsOf(options, k), time, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            foreach (var opened in engines)
                if (opened != null) await opened.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        engines[0].Partitions = new PartitionRouter(engines);
        // Cross-partition transactions keep their commit records in the data directory, which blob storage treats
        // as a cache: with blob storage they are refused until the records live in the coordinator's container.
        if (options.Blob.ConnectionString is not { Length: > 0 })
        {
            var coordinator = new Transactions.CrossPartitionTransactions(engines, options.InMemory ? null : Path.Combine(options.DataDirectory, "twopc"));
            await coordinator.RecoverAsync().ConfigureAwait(false);
            engines[0].Database.Coordinator = coordinator;
        }

        return engines[0];
    }

    /// <summary>
    /// Opens a store whose partition 0 is held by this process and whose other partitions are held elsewhere, reached
    /// through <paramref name="remote"/> (docs/scale-out.md, "Across processes"): the router runs as in one process, and
    /// a call to partition k &gt; 0 is forwarded as JSON bytes. P is checked as for a store in one process.
    /// </summary>
    public static async Task<DynamoEngine> OpenWithRemoteAsync(EngineOptions options, IPartitionTransport remote, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(remote);
        await CheckRemoteLayoutAsync(options, cancellationToken).ConfigureAwait(false);
        var engines = new DynamoEngine?[options.Partitions];
        var front = await DynamoEngine.OpenAsync(OptionsOf(options, 0), time, cancellationToken).ConfigureAwait(false);
        engines[0] = front;
        front.Partitions = new PartitionRouter(engines, remote);
        return front;
    }

    /// <summary>
    /// Opens a gateway to a store whose every partition, 0 included, is held elsewhere and reached through
    /// <paramref name="remote"/> (docs/scale-out.md, "Gateway"): an engine in memory that owns no data, authenticates,
    /// authorizes and routes, its catalog a cache of partition 0's. P is checked as for a store in one process.
    /// </summary>
    public static async Task<DynamoEngine> OpenGatewayAsync(EngineOptions options, IPartitionTransport remote, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(remote);
        await CheckRemoteLayoutAsync(options, cancellationToken).ConfigureAwait(false);
        var own = Copy(options);
        own.Blob = Copy(options.Blob);
        own.Blob.ConnectionString = null;
        own.Partitions = 1;
        own.InMemory = true;
        own.InMemoryLogBytes = 16L * 1024 * 1024; // the least allowed: the gateway's store stays empty
        var gateway = await DynamoEngine.OpenAsync(own, time, cancellationToken).ConfigureAwait(false);
        gateway.Partitions = new PartitionRouter(new DynamoEngine?[options.Partitions], remote, gateway);
        return gateway;
    }

    /// <summary>P checked as for a store in one process, for a store some of whose partitions are held elsewhere.</summary>
    private static async Task CheckRemoteLayoutAsync(EngineOptions options, CancellationToken cancellationToken)
    {
        if (options.Partitions < 2) throw new ArgumentException("Partitions held elsewhere need a store with partitions (Engine:Partitions > 1).", nameof(options));
        if (!options.InMemory) CheckLayout(options.DataDirectory, options.Partitions);
        if (options.Blob.ConnectionString is { Length: > 0 }) await CheckBlobLayoutAsync(options.Blob, options.Partitions, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Partition <paramref name="k"/>'s settings: a copy of <paramref name="options"/> (every settable member, so a
    /// setting added later is not lost) with its own data directory and blob container, and one partition.
    /// </summary>
    public static EngineOptions OptionsOf(EngineOptions options, int k)
    {
        ArgumentNullException.ThrowIfNull(options);
        var copy = Copy(options);
        copy.Blob = Copy(options.Blob);
        copy.Partitions = 1;
        copy.DataDirectory = Path.Combine(options.DataDirectory, "p" + k.ToString(System.Globalization.CultureInfo.InvariantCulture));
        copy.Blob.Container = options.Blob.Container + "-p" + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return copy;
    }

    private static T Copy<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicProperties)] T>(T source) where T : class, new()
    {
        var copy = new T();
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanRead && property.CanWrite && property.GetIndexParameters().Length == 0) property.SetValue(copy, property.GetValue(source));
        }

        return copy;
    }

    /// <summary>
    /// Records P in a new data directory, or refuses a directory created with another P (or without partitions): P is
    /// fixed when the store is created, and a store is split only by the procedure in docs/scale-out.md.
    /// </summary>
    public static void CheckLayout(string dataDirectory, int partitions)
    {
        var path = Path.Combine(dataDirectory, LayoutFile);
        if (File.Exists(path))
        {
            var recorded = ReadLayout(File.ReadAllBytes(path));
            if (recorded != partitions)
                throw new ArgumentException($"Partitions: the store in '{dataDirectory}' was created with {recorded} partitions, not {partitions}; the number is fixed when a store is created (docs/scale-out.md).");
            return;
        }

        // The single store's own files (Storage/StoreOpener.cs): a change log or a manifest of its own.
        if (Directory.Exists(Path.Combine(dataDirectory, "changelog")) || File.Exists(Path.Combine(dataDirectory, "manifest.json")))
            throw new ArgumentException($"Partitions: '{dataDirectory}' holds a store created without partitions; the number is fixed when a store is created (docs/scale-out.md).");
        Directory.CreateDirectory(dataDirectory);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, WriteLayout(partitions));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// With blob storage the truth is in the storage account, not the data directory (a cache): P is recorded as
    /// <c>partitions.json</c> in the base container (<c>{Container}</c>, beside the partitions' <c>{Container}-p{k}</c>),
    /// written once with an if-none-match condition, so two instances starting together agree on it.
    /// </summary>
    public static async Task CheckBlobLayoutAsync(BlobOptions blob, int partitions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(blob);
        var container = new Azure.Storage.Blobs.BlobContainerClient(blob.ConnectionString, blob.Container,
            new Azure.Storage.Blobs.BlobClientOptions(Azure.Storage.Blobs.BlobClientOptions.ServiceVersion.V2025_11_05));
        await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var layout = container.GetBlobClient(LayoutFile);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var recorded = ReadLayout((await layout.DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content.ToMemory().Span);
                if (recorded != partitions)
                    throw new ArgumentException($"Partitions: the store in container '{blob.Container}' was created with {recorded} partitions, not {partitions}; the number is fixed when a store is created (docs/scale-out.md).");
                return;
            }
            catch (Azure.RequestFailedException e) when (e.Status == 404 && attempt == 0)
            {
                // Not recorded yet: a store without partitions may already live in the base container.
            }

            if (await container.GetBlobClient("manifest.json").ExistsAsync(cancellationToken).ConfigureAwait(false)
                || await container.GetBlobClient("owner.lease").ExistsAsync(cancellationToken).ConfigureAwait(false))
                throw new ArgumentException($"Partitions: container '{blob.Container}' holds a store created without partitions; the number is fixed when a store is created (docs/scale-out.md).");
            try
            {
                await layout.UploadAsync(BinaryData.FromBytes(WriteLayout(partitions)),
                    new Azure.Storage.Blobs.Models.BlobUploadOptions { Conditions = new Azure.Storage.Blobs.Models.BlobRequestConditions { IfNoneMatch = Azure.ETag.All } },
                    cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Azure.RequestFailedException e) when (e.Status is 409 or 412 && attempt == 0)
            {
                // Another instance recorded it first: read what it wrote.
            }
        }
    }

    /// <summary>The layout file's bytes (persisted, golden-tested): <c>{"Version":1,"Partitions":P}</c>.</summary>
    public static byte[] WriteLayout(int partitions)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("Version"u8, 1);
            w.WriteNumber("Partitions"u8, partitions);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>P from a layout file; version 1 is a uniform split of the hash space.</summary>
    public static int ReadLayout(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (!root.TryGetProperty("Version"u8, out var version) || version.GetInt32() != 1)
            throw new InvalidDataException($"{LayoutFile}: unknown version.");
        return root.GetProperty("Partitions"u8).GetInt32();
    }
}
