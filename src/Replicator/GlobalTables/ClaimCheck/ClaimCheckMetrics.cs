using System.Text.Json;

namespace Serverless.Replicator.GlobalTables.ClaimCheck;

/// <summary>What the claim check did in this process, for <c>GET /admin/metrics</c> (<c>ReplicationPayloads</c>).</summary>
public sealed class ClaimCheckMetrics
{
    private long _sent;
    private long _sentBytes;
    private long _applied;
    private long _missing;
    private long _sweeps;
    private long _swept;

    internal void Sent(long bytes)
    {
        Interlocked.Increment(ref _sent);
        Interlocked.Add(ref _sentBytes, bytes);
    }

    internal void Applied() => Interlocked.Increment(ref _applied);

    internal void Missing() => Interlocked.Increment(ref _missing);

    internal void Swept(int deleted)
    {
        Interlocked.Increment(ref _sweeps);
        Interlocked.Add(ref _swept, deleted);
    }

    /// <summary>
    /// <c>{"Sent","SentBytes","Applied","Missing","Sweeps","Swept"}</c>: payload blobs uploaded (and their bytes),
    /// pointers applied from their blob, redelivered pointers whose blob was gone, sweeps run and blobs they deleted.
    /// </summary>
    public void Write(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteStartObject();
        w.WriteNumber("Sent", Interlocked.Read(ref _sent));
        w.WriteNumber("SentBytes", Interlocked.Read(ref _sentBytes));
        w.WriteNumber("Applied", Interlocked.Read(ref _applied));
        w.WriteNumber("Missing", Interlocked.Read(ref _missing));
        w.WriteNumber("Sweeps", Interlocked.Read(ref _sweeps));
        w.WriteNumber("Swept", Interlocked.Read(ref _swept));
        w.WriteEndObject();
    }
}
