namespace Serverless.Engine;

/// <summary>
/// A fault-injection point for the crash tests: armed while the file that the environment variable
/// <see cref="Variable"/> names exists, so a test arms it at the moment it chooses by creating that file. Unset, it
/// costs one null check. The hooks: <c>SERVERLESS_TEST_KILL_BEFORE_MANIFEST</c>, <c>SERVERLESS_TEST_HOLD_APPENDS</c>,
/// <c>SERVERLESS_TEST_KILL_AFTER_PIECE</c>, <c>SERVERLESS_TEST_KILL_BEFORE_COMMIT_RECORD</c>,
/// <c>SERVERLESS_TEST_KILL_BEFORE_PHASE_TWO</c>, <c>SERVERLESS_TEST_FAIL_PHASE_TWO</c> and
/// <c>SERVERLESS_TEST_HOLD_BEFORE_DELETES</c>.
/// </summary>
internal sealed class FaultHook(string variable)
{
    private readonly string? _path = Environment.GetEnvironmentVariable(variable);

    public string Variable { get; } = variable;

    public bool IsArmed => _path is { Length: > 0 } && File.Exists(_path);

    /// <summary>Kills the process (SIGKILL: nothing is flushed or disposed) when armed.</summary>
    public void KillIfArmed()
    {
        if (IsArmed) System.Diagnostics.Process.GetCurrentProcess().Kill();
    }

    /// <summary>Waits while armed (a frozen process, as far as this code path is concerned); polls the file every 20 ms.</summary>
    public async Task HoldWhileArmedAsync(CancellationToken cancellationToken)
    {
        while (IsArmed) await Task.Delay(20, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Throws an I/O error, as a failing disk would, when armed.</summary>
    public void FailIfArmed()
    {
        if (IsArmed) throw new IOException($"Test fault ({Variable}).");
    }
}
