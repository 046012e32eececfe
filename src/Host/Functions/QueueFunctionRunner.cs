using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Serverless.Replicator.Queues;
using Serverless.Replicator.Triggers;

namespace Serverless.Host.Functions;

/// <summary>
/// The host.json <c>extensions.queues</c> settings this host honours, with the Functions host's defaults.
/// </summary>
internal sealed record QueueHostSettings(int BatchSize, int MaxDequeueCount, TimeSpan VisibilityTimeout, TimeSpan MaxPollingInterval)
{
    public static readonly QueueHostSettings Default = new(16, 5, TimeSpan.Zero, TimeSpan.FromMinutes(1));

    public static QueueHostSettings From(JsonElement hostJson)
    {
        if (HostJsonFile.Extension(hostJson, "queues") is not { } q) return Default;
        return new QueueHostSettings(
            Int(q, "batchSize", Default.BatchSize, 1, 32),
            Int(q, "maxDequeueCount", Default.MaxDequeueCount, 1, int.MaxValue),
            Span(q, "visibilityTimeout", Default.VisibilityTimeout),
            Span(q, "maxPollingInterval", Default.MaxPollingInterval));
    }

    private static int Int(JsonElement q, string name, int fallback, int min, int max)
    {
        if (!q.TryGetProperty(name, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n) || n < min || n > max)
            throw new InvalidOperationException($"host.json extensions.queues.{name} must be a number from {min} to {max}.");
        return n;
    }

    private static TimeSpan Span(JsonElement q, string name, TimeSpan fallback)
    {
        if (!q.TryGetProperty(name, out var v)) return fallback;
        if (v.ValueKind == JsonValueKind.Number) return TimeSpan.FromMilliseconds(v.GetDouble()); // the v1 form: milliseconds
        if (v.ValueKind == JsonValueKind.String && TimeSpan.TryParse(v.GetString(), CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero) return span;
        throw new InvalidOperationException($"host.json extensions.queues.{name} must be a TimeSpan such as \"00:00:02\".");
    }
}

/// <summary>A queue-triggered function with its resolved queue and retry policy.</summary>
internal sealed record QueueFunction(FunctionDescriptor Descriptor, string Queue, int MaxDequeueCount, string PoisonQueue);

/// <summary>
/// Runs the queue-triggered functions as the Functions host does: polls each queue (backing off to
/// maxPollingInterval while it is empty; the in-process queue wakes it at once), receives up to batchSize messages,
/// hides each for a lease while its function runs, deletes it on success, and on failure makes it visible again after
/// visibilityTimeout — or, once it has been dequeued maxDequeueCount times, moves it to <c>{queue}-poison</c>.
/// For a queue that a trigger mapping delivers to, the mapping's RetryAttempts and OnFailureQueue replace
/// maxDequeueCount (RetryAttempts + 1) and the poison queue.
/// </summary>
internal sealed class QueueFunctionRunner : FunctionLoopRunner<QueueFunction>
{
    private static readonly TimeSpan MinPollingInterval = TimeSpan.FromMilliseconds(100);
    private static readonly JsonSerializerOptions PocoJson = new(JsonSerializerDefaults.Web);

    private readonly QueueHostSettings _settings;
    private readonly TimeSpan _lease;
    private readonly IServiceProvider _services;
    private readonly ILogger<QueueFunctionRunner> _logger;
    private IMessageQueues? _queues;

    public QueueFunctionRunner(IEnumerable<QueueFunction> functions, QueueHostSettings settings, TimeSpan lease, IServiceProvider services, ILogger<QueueFunctionRunner> logger)
        : base(functions)
    {
        _settings = settings;
        _lease = lease;
        _services = services;
        _logger = logger;
    }

    /// <summary>Resolves the queue of each queue-triggered function (<c>%Setting%</c> from configuration) and its retry policy.</summary>
    public static List<QueueFunction> Resolve(IEnumerable<FunctionDescriptor> functions, IConfiguration configuration, QueueHostSettings settings)
    {
        var mappings = configuration.GetSection(Serverless.Functions.Hosting.TriggerSettings.Section).Get<List<TriggerMapping>>() ?? [];
        var result = new List<QueueFunction>();
        foreach (var f in functions)
        {
            if (f.Trigger is not QueueTriggerAttribute trigger) continue;
            var queue = ResolveSetting(trigger.QueueName, configuration, f.Name, "queue name");
            if (!TriggerMapping.IsQueueName(queue)) throw new InvalidOperationException($"Function '{f.Name}': '{queue}' is not a valid queue name.");
            var mapping = mappings.Find(m => m.Queue == queue);
            var maxDequeue = mapping?.RetryAttempts is { } retries ? retries + 1 : settings.MaxDequeueCount;
            var poison = mapping?.OnFailureQueue ?? queue + "-poison";
            result.Add(new QueueFunction(f, queue, maxDequeue, poison));
        }

        return result;
    }

    protected override void OnStarting() => _queues = _services.GetRequiredService<IMessageQueues>();

    protected override async Task LoopAsync(QueueFunction f, CancellationToken stopping)
    {
        var queues = _queues!;
        var wait = MinPollingInterval;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var messages = await queues.ReceiveAsync(f.Queue, _settings.BatchSize, _lease, stopping).ConfigureAwait(false);
                if (messages.Count == 0)
                {
                    await queues.WaitAsync(f.Queue, wait, stopping).ConfigureAwait(false);
                    wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, Math.Max(_settings.MaxPollingInterval.Ticks, MinPollingInterval.Ticks)));
                    continue;
                }

                wait = MinPollingInterval;
                if (messages.Count == 1) await ProcessAsync(queues, f, messages[0], stopping).ConfigureAwait(false);
                else await Task.WhenAll(messages.Select(m => ProcessAsync(queues, f, m, stopping))).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Storage unreachable, or a message lost its receipt: log, back off, poll again.
                _logger.LogWarning(e, "Queue function {Function}: polling queue {Queue} failed", f.Descriptor.Name, f.Queue);
                await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
            }
        }
    }

    private async Task ProcessAsync(IMessageQueues queues, QueueFunction f, ReceivedMessage message, CancellationToken stopping)
    {
        // Delivered too often already (a host died while running it): poison it without another attempt.
        if (message.DequeueCount > f.MaxDequeueCount)
        {
            await MoveToPoisonAsync(queues, f, message, stopping).ConfigureAwait(false);
            return;
        }

        try
        {
            await FunctionInvocation.InvokeAsync(_services, f.Descriptor.Method, (p, services) => Bind(f, p, message, services, stopping)).ConfigureAwait(false);
        }
        catch (Exception e) when (!stopping.IsCancellationRequested)
        {
            _logger.LogError(e, "Queue function {Function} failed on message {Id} (attempt {Attempt} of {Max})", f.Descriptor.Name, message.Id, message.DequeueCount, f.MaxDequeueCount);
            if (message.DequeueCount >= f.MaxDequeueCount) await MoveToPoisonAsync(queues, f, message, stopping).ConfigureAwait(false);
            else await queues.SetVisibilityAsync(f.Queue, message, _settings.VisibilityTimeout, stopping).ConfigureAwait(false);
            return;
        }

        await queues.DeleteAsync(f.Queue, message, stopping).ConfigureAwait(false);
    }

    private async Task MoveToPoisonAsync(IMessageQueues queues, QueueFunction f, ReceivedMessage message, CancellationToken stopping)
    {
        await queues.SendAsync(f.PoisonQueue, message.Text, stopping).ConfigureAwait(false);
        await queues.DeleteAsync(f.Queue, message, stopping).ConfigureAwait(false);
        _logger.LogWarning("Queue function {Function}: message {Id} moved to queue {Poison} after {Count} attempts", f.Descriptor.Name, message.Id, f.PoisonQueue, message.DequeueCount);
    }

    /// <summary>A message as a JSON-deserialised class, by reflection: JIT builds only (the check in <see cref="Bind"/>).</summary>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode("Deserialises an arbitrary type by reflection.")]
    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode("Deserialises an arbitrary type by reflection.")]
    private static object? DeserializePoco(string text, Type type) => JsonSerializer.Deserialize(text, type, PocoJson);

    /// <summary>The trigger parameter as string, bytes, BinaryData, JsonElement or a JSON-deserialised type; also binding data by name, as in Functions.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = RootedFunctions.Justification)]
    private static object? Bind(QueueFunction f, ParameterInfo parameter, ReceivedMessage message, IServiceProvider services, CancellationToken cancellationToken)
    {
        var type = parameter.ParameterType;
        if (parameter == f.Descriptor.TriggerParameter)
        {
            if (type == typeof(string)) return message.Text;
            if (type == typeof(byte[])) return Encoding.UTF8.GetBytes(message.Text);
            if (type == typeof(BinaryData)) return BinaryData.FromString(message.Text);
            if (type == typeof(JsonElement))
            {
                using var document = JsonDocument.Parse(message.Text);
                return document.RootElement.Clone();
            }

            if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
                throw new NotSupportedException($"Function '{f.Descriptor.Name}': a Native AOT build binds a queue message to string, byte[], BinaryData or JsonElement, not to {type}.");
            return DeserializePoco(message.Text, type);
        }

        if (type == typeof(CancellationToken)) return cancellationToken;
        if (type == typeof(FunctionContext)) return new LocalFunctionContext(new LocalFunctionDefinition(f.Descriptor), services, cancellationToken);
        switch (parameter.Name)
        {
            case "dequeueCount" when type == typeof(long) || type == typeof(int):
                return Convert.ChangeType(message.DequeueCount, type, CultureInfo.InvariantCulture);
            case "id" when type == typeof(string):
                return message.Id;
            case "insertionTime" when type == typeof(DateTimeOffset) || type == typeof(DateTimeOffset?):
                return message.InsertedOn ?? (services.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
        }

        throw new NotSupportedException(
            $"Function '{f.Descriptor.Name}': the local host cannot bind parameter '{parameter.Name}' of type {type}. Queue functions may take the message, CancellationToken, FunctionContext, dequeueCount, id and insertionTime.");
    }
}
