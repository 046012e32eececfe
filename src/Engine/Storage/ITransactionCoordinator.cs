namespace Serverless.Engine.Storage;

/// <summary>
/// Runs transactions whose items live in several partitions (Partitioning/Transactions); set on partition 0's
/// <see cref="Database"/> only, so a store without partitions pays one null check.
/// </summary>
public interface ITransactionCoordinator
{
    /// <summary>The result of a transaction spanning partitions, or null when its items all live in partition 0.</summary>
    TransactionResult? TryWrite(IReadOnlyList<TransactionItem> items, string? token, byte[]? fingerprint);

    /// <summary>A snapshot read spanning partitions (false when its items all live in partition 0).</summary>
    bool TryRead(IReadOnlyList<byte[]> keys, out byte[]?[]? values, out bool[] conflicts);
}
