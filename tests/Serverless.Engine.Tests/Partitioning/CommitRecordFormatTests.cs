using Serverless.Engine.Partitioning.Transactions;
using Serverless.Engine.Security.Encryption;
using Serverless.Engine.Storage;
using Serverless.Engine.Tests.Security;

namespace Serverless.Engine.Tests.Partitioning;

/// <summary>Golden bytes of the cross-partition commit record (persisted: recovery reads it after a crash).</summary>
public sealed class CommitRecordFormatTests
{
    private const string Golden =
        "32-50-43-31-02-00-74-31-02-00-AA-BB-02-00-00-00-00-00-01-00-00-00-07-00-00-00-03-00-00-00-01-02-03-01-02-00-00-00-09-09-"
        + "03-00-01-00-00-00-07-00-00-00-01-00-00-00-04-00-00-00-00-00";

    private static CommitRecord Sample() => new("t1", [0xAA, 0xBB],
    [
        (0, [new RedoChange(7, [1, 2, 3], true, [9, 9])]),
        (3, [new RedoChange(7, [4], false, [])]),
    ]);

    [Fact]
    public void CommitRecord_WritesGoldenBytes_AndReadsBack()
    {
        var plain = Sample().Encode();
        Assert.Equal(Golden, BitConverter.ToString(plain));

        var sealedFile = SealedFile.Seal(TestKeys.Cipher, SealedKind.CommitRecord, plain);
        var back = CommitRecord.Decode(SealedFile.Open(sealedFile, TestKeys.Cipher, SealedKind.CommitRecord, "r.commit"));
        Assert.Equal("t1", back.Token);
        Assert.Equal([0xAA, 0xBB], back.Fingerprint);
        Assert.Equal(2, back.Parts.Count);
        Assert.Equal(0, back.Parts[0].Partition);
        var put = Assert.Single(back.Parts[0].Changes);
        Assert.Equal((7u, true), (put.Table, put.HasNew));
        Assert.Equal([1, 2, 3], put.Key);
        Assert.Equal([9, 9], put.New);
        Assert.Equal(3, back.Parts[1].Partition);
        var delete = Assert.Single(back.Parts[1].Changes);
        Assert.Equal((7u, false), (delete.Table, delete.HasNew));
        Assert.Equal([4], delete.Key);

        // Another kind of sealed file never passes for a commit record, nor a record without the magic.
        Assert.ThrowsAny<Exception>(() => SealedFile.Open(sealedFile, TestKeys.Cipher, SealedKind.ExportRecord, "r.commit"));
        Assert.Throws<InvalidDataException>(() => CommitRecord.Decode(plain.AsSpan(1)));
    }
}
