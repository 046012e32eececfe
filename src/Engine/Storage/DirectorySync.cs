using System.Runtime.InteropServices;

namespace Serverless.Engine.Storage;

/// <summary>
/// Makes a rename or a deletion in a directory durable: on Linux a file's creation, rename or removal reaches the
/// disk only when its directory is flushed (fsync of the directory), not when the file itself is. Elsewhere
/// (Windows, macOS) it does nothing: .NET cannot open a directory there, and their file systems journal the
/// change with the metadata.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;

    /// <summary>Linux's O_DIRECTORY, which differs between architectures.</summary>
    private static int DirectoryFlag => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;

    /// <summary>Flushes <paramref name="directory"/>'s entries to the disk; throws IOException when that fails.</summary>
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        var fd = Open(directory, ReadOnly | DirectoryFlag);
        if (fd < 0) throw new IOException($"Cannot open directory '{directory}' to flush it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"Flushing directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
