using System.Runtime.InteropServices;

namespace Serverless.Engine.Common;

/// <summary>
/// Drops written pages of a shared file mapping from the process's resident set (Linux madvise MADV_DONTNEED). For a
/// shared mapping of a file this loses nothing: the pages stay in the page cache, dirty ones are written back as
/// usual, and a later access maps them again from the file. Elsewhere it does nothing.
/// </summary>
internal static partial class MappedPages
{
    private const int DontNeed = 4; // MADV_DONTNEED

    /// <summary>The page size every range given to <see cref="Release"/> is aligned to.</summary>
    public static readonly int PageSize = Environment.SystemPageSize;

    /// <summary>Releases <paramref name="length"/> bytes from <paramref name="address"/> (both page-aligned).</summary>
    public static void Release(nint address, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0) return;
        _ = Madvise(address, (nuint)length, DontNeed); // advice only: on failure the pages just stay resident
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
