using Azure.Storage.Blobs;
using Serverless.Engine.Persistence;
using Serverless.IntegrationTests.Infrastructure;

namespace Serverless.IntegrationTests.BlobDurability;

/// <summary>
/// Issue 13: the reverse order of <see cref="LeaseFenceTests"/>. An earlier owner, frozen past its lease, appends to
/// the shared last log blob before the new owner's first append there. The new owner's append is refused at its
/// position and finds the blob longer: it must not take those bytes for its own write (which it would then
/// acknowledge, and lose). Bytes that are its own (an earlier attempt whose reply was lost) still count as landed.
/// </summary>
public sealed class ForeignAppendTests
{
    [Fact]
    public async Task ARefusedAppend_TakesTheBlobsBytes_OnlyWhenTheyAreItsOwn()
    {
        await using var azurite = await AzuriteProcess.StartAsync();
        var container = new BlobContainerClient(azurite.ConnectionString, "foreign");
        await container.CreateIfNotExistsAsync();
        static string Name(ulong segment) => $"log/{segment:D10}";
        var earlier = new AppendBlobTarget(container, Name);
        var owner = new AppendBlobTarget(container, Name, () => true, _ => Task.CompletedTask);
        var theirs = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        var mine = Enumerable.Range(0, 300).Select(i => (byte)(i * 7 + 1)).ToArray();

        // The frozen earlier owner lands first; the new owner's append of other bytes at the same offset is refused.
        Assert.True(await earlier.AppendAsync(1, 0, theirs, null, CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => owner.AppendAsync(1, 0, mine, null, CancellationToken.None));

        // Its own bytes, landed by an attempt whose reply was lost, are taken; and a longer append adds only the rest.
        Assert.True(await owner.AppendAsync(2, 0, mine.AsMemory(0, 200), null, CancellationToken.None));
        Assert.True(await owner.AppendAsync(2, 0, mine, null, CancellationToken.None));
        var blob = (await container.GetBlobClient(Name(2)).DownloadContentAsync()).Value.Content.ToArray();
        Assert.Equal(mine, blob);
        Assert.Equal(theirs, (await container.GetBlobClient(Name(1)).DownloadContentAsync()).Value.Content.ToArray());
    }
}
