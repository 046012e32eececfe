namespace Serverless.Host.Functions;

/// <summary>
/// Runs one background loop per function (timer schedules, queue polling) from host start to host stop; stopping
/// cancels the loops and waits for them, so an invocation in progress finishes or observes cancellation.
/// </summary>
internal abstract class FunctionLoopRunner<TFunction> : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private int _disposed;

    protected FunctionLoopRunner(IEnumerable<TFunction> functions) => Functions = [.. functions];

    public IReadOnlyList<TFunction> Functions { get; }

    /// <summary>
    /// The value of a trigger attribute's argument: <c>%Name%</c> is the app setting Name, as in Azure Functions;
    /// anything else is used as is.
    /// </summary>
    public static string ResolveSetting(string text, IConfiguration configuration, string function, string what)
    {
        if (text.Length <= 2 || text[0] != '%' || text[^1] != '%') return text;
        var setting = text[1..^1];
        return configuration[setting]
            ?? throw new InvalidOperationException($"Function '{function}': the app setting '{setting}' for its {what} is not set.");
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Functions.Count == 0) return Task.CompletedTask;
        OnStarting();
        foreach (var f in Functions) _loops.Add(Task.Run(() => LoopAsync(f, _stopping.Token), CancellationToken.None));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        // The container may dispose the runner both as itself and as the hosted service it is registered as.
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Called once before the loops start, when there is at least one function.</summary>
    protected virtual void OnStarting()
    {
    }

    /// <summary>Runs until <paramref name="stopping"/> is cancelled.</summary>
    protected abstract Task LoopAsync(TFunction function, CancellationToken stopping);
}
