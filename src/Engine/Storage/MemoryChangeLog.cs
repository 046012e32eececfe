using Serverless.Engine.Security.Encryption;

namespace Serverless.Engine.Storage;

/// <summary>
/// The change log of a memory-only engine (<c>--in-memory</c>). It is the ordinary <see cref="ChangeLog"/>, so
/// streams, triggers, point-in-time recovery, Kinesis destinations and global tables read it unchanged, but its
/// segments live in RAM: a private folder on the shared-memory file system (<c>/dev/shm</c> on Linux; the temporary
/// folder where there is none), removed when the engine closes and, after a crash, by the next memory-only engine
/// that starts on the machine. It never survives the process and is bounded twice: segments leave once no stream or
/// recovery window needs them (24 hours for streams), and the oldest leave first whenever the log holds more than
/// <see cref="EngineOptions.InMemoryLogBytes"/>, as DynamoDB Local's in-memory mode keeps a bounded stream.
/// </summary>
public sealed class MemoryChangeLog
{
    private const string Prefix = "serverless-dynamo-log-";

    private readonly string _directory;
    private readonly FileStream _lock;
    private readonly long _capBytes;

    private MemoryChangeLog(string directory, FileStream ownership, long capBytes, ChangeLog log)
    {
        _directory = directory;
        _lock = ownership;
        _capBytes = capBytes;
        Log = log;
    }

    public ChangeLog Log { get; }

    /// <summary>The segment size: a sixteenth of the cap (at least 1 MiB), so the cap trims in small steps.</summary>
    public static long SegmentBytesFor(long capBytes) => Math.Max(1024 * 1024, capBytes / 16);

    public static MemoryChangeLog Open(EngineOptions options, StoreCipher cipher)
    {
        var parent = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        RemoveAbandoned(parent);
        var directory = Path.Combine(parent, Prefix + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var ownership = new FileStream(Path.Combine(directory, "LOCK"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var logOptions = new ChangeLogOptions
        {
            // Memory needs no fsync; the background one is a no-op on tmpfs and rare elsewhere.
            Sync = ChangeLogSync.Interval, SyncInterval = TimeSpan.FromMinutes(1), SegmentBytes = SegmentBytesFor(options.InMemoryLogBytes),
        };
        var log = ChangeLog.OpenAndReplay(Path.Combine(directory, "changelog"), logOptions, cipher, 1, static (in ChangeRecord _) => { });
        return new MemoryChangeLog(directory, ownership, options.InMemoryLogBytes, log);
    }

    /// <summary>Bytes the log's segments hold now.</summary>
    public long Bytes
    {
        get
        {
            long total = 0;
            foreach (var (_, path) in Log.Segments) total += SegmentLength(path);
            return total;
        }
    }

    /// <summary>
    /// Drops the segments no window needs (all closed records written before <paramref name="keepSinceUtc"/>, or every
    /// closed segment when it is null), then the oldest closed segments while the log is over its cap.
    /// </summary>
    public void Trim(DateTime? keepSinceUtc)
    {
        Log.DeleteSegmentsBefore(ulong.MaxValue, keepSinceUtc ?? DateTime.MaxValue);
        var segments = Log.Segments;
        var total = 0L;
        var lengths = new long[segments.Count];
        for (var i = 0; i < segments.Count; i++) total += lengths[i] = SegmentLength(segments[i].Path);
        for (var i = 0; i + 1 < segments.Count && total > _capBytes; i++)
        {
            File.Delete(segments[i].Path);
            total -= lengths[i];
        }
    }

    /// <summary>Removes the folder; the caller has closed the log.</summary>
    public void Release()
    {
        _lock.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the next memory-only engine's sweep.
        }
    }

    private static long SegmentLength(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Deletes the folders of memory-only engines that died without closing (their lock is free).</summary>
    private static void RemoveAbandoned(string parent)
    {
        foreach (var directory in Directory.EnumerateDirectories(parent, Prefix + "*"))
        {
            try
            {
                using (new FileStream(Path.Combine(directory, "LOCK"), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                }

                Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use by a live engine, or not ours to remove.
            }
        }
    }
}
