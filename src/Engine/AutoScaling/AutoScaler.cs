using System.Buffers;
using System.Text.Json;
using Serverless.Engine.Operations;
using Serverless.Engine.Protocol;
using Serverless.Engine.Storage;

namespace Serverless.Engine.AutoScaling;

/// <summary>Why a capacity change is made: it decides which cooldown the change starts.</summary>
internal enum ScalingDirection
{
    /// <summary>RegisterScalableTarget moved the capacity inside a new min/max range.</summary>
    Bounds,
    ScaleOut,
    ScaleIn,
}

/// <summary>
/// Evaluates target tracking policies the way the CloudWatch alarms Application Auto Scaling creates for DynamoDB do,
/// once a minute (the <c>AutoScaling</c> timer function):
/// <list type="bullet">
/// <item>each evaluation samples the cumulative consumed-capacity meters of the table or index and keeps one datapoint
/// per elapsed minute: consumed units per second over that minute;</item>
/// <item>AlarmHigh: the last 2 datapoints above TargetValue % of the provisioned capacity: scale out;</item>
/// <item>AlarmLow: the last 15 datapoints below (TargetValue − 20) % of it: scale in;</item>
/// <item>the new capacity is the latest consumption divided by the target utilization, rounded up, kept within
/// MinCapacity and MaxCapacity; during ScaleOutCooldown only a larger scale-out runs, during ScaleInCooldown no scale-in.</item>
/// </list>
/// Changes go through UpdateTable (its validation and decrease limits, its durability), and each is recorded as a
/// scaling activity. The datapoints live in memory: after a restart the alarms start from no data, as new alarms do.
/// </summary>
public sealed class AutoScaler
{
    /// <summary>AlarmHigh's evaluation periods.</summary>
    public const int HighPeriods = 2;

    /// <summary>AlarmLow's evaluation periods.</summary>
    public const int LowPeriods = 15;

    /// <summary>AlarmLow's threshold lies this many percentage points below the target value.</summary>
    public const double LowMargin = 20;

    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    // A timer that fires a little early still closes its minute.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(5);

    private readonly DynamoEngine _engine;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly object _metersLock = new();
    private readonly Dictionary<(uint Table, string Index), MeterSeries> _meters = [];

    internal AutoScaler(DynamoEngine engine) => _engine = engine;

    /// <summary>Starts the consumption series of a table's targets that have none yet (at registration).</summary>
    public void Baseline(TableState table)
    {
        var now = _engine.Time.GetUtcNow();
        lock (_metersLock)
        {
            foreach (var t in table.Definition.AutoScaling?.Targets ?? [])
                if (MeterOf(table, t.Index) is { } meter && !_meters.ContainsKey((table.Number, t.Index ?? "")))
                    _meters[(table.Number, t.Index ?? "")] = new MeterSeries(meter, now);
        }
    }

    /// <summary>One evaluation of every policy; returns how many scaling activities it started.</summary>
    public async Task<int> EvaluateAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _engine.Time.GetUtcNow();
            var activities = 0;
            foreach (var table in ScalableTargets.SortedTables(_engine))
            {
                var definition = table.Definition;
                if (definition.AutoScaling is not { Targets.Count: > 0 } state || definition.BillingMode == BillingModes.PayPerRequest) continue;
                foreach (var target in state.Targets)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (Sample(table, target.Index, now) is not { } series) continue;
                    if (Decide(table.Definition, target, series.Rates(target.IsRead), now) is not { } decision) continue;
                    try
                    {
                        await ApplyAsync(table, target.Dimension, target.Index, decision.Capacity, decision.Cause, decision.Direction).ConfigureAwait(false);
                        activities++;
                    }
                    catch (Exception e) when (DynamoErrors.Of(e) != null)
                    {
                        // The table changed under the evaluation (deleted, say): the other tables still get theirs.
                    }
                }
            }

            return activities;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Sets the capacity of a table or global index through UpdateTable and records the scaling activity (successful,
    /// or failed with UpdateTable's reason).
    /// </summary>
    internal async Task ApplyAsync(TableState table, string dimension, string? index, long capacity, string cause, ScalingDirection direction)
    {
        var read = dimension.EndsWith(":ReadCapacityUnits", StringComparison.Ordinal);
        var units = read ? "read capacity units" : "write capacity units";
        var start = _engine.NowSeconds();
        string status, message;
        try
        {
            await UpdateCapacityAsync(table, index, read, capacity).ConfigureAwait(false);
            status = "Successful";
            message = $"Successfully set {units} to {capacity}. Change successfully fulfilled by dynamodb.";
        }
        catch (Exception ex) when (DynamoErrors.Of(ex) is { } e)
        {
            status = "Failed";
            message = $"Failed to set {units} to {capacity}. Reason: {e.Message}";
        }

        var activity = new ScalingActivityDefinition
        {
            ActivityId = Guid.NewGuid().ToString(), Dimension = dimension, Index = index, Description = $"Setting {units} to {capacity}.",
            Cause = cause, StartTime = start, EndTime = _engine.NowSeconds(), StatusCode = status, StatusMessage = message,
        };
        try
        {
            await _engine.Database.UpdateTableAsync(table, d =>
            {
                var state = d.AutoScaling ??= new AutoScalingDefinition();
                state.Activities.Insert(0, activity);
                if (state.Activities.Count > AutoScalingDefinition.MaxActivities) state.Activities.RemoveRange(AutoScalingDefinition.MaxActivities, state.Activities.Count - AutoScalingDefinition.MaxActivities);
                if (status != "Successful" || state.Find(dimension, index) is not { } target) return;
                if (direction == ScalingDirection.ScaleOut)
                {
                    target.LastScaleOutAt = start;
                    target.LastScaleOutCapacity = capacity;
                }
                else if (direction == ScalingDirection.ScaleIn) target.LastScaleInAt = start;
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (table.Deleting && DynamoErrors.Of(e) != null)
        {
            // The table went away meanwhile: so did its targets and activities.
        }
    }

    /// <summary>The engine's own UpdateTable, so a scaling change is validated, limited and persisted like a client's.</summary>
    private async Task UpdateCapacityAsync(TableState table, string? index, bool read, long capacity)
    {
        var definition = table.Definition;
        var current = index == null ? (definition.ReadCapacityUnits, definition.WriteCapacityUnits)
            : definition.FindIndex(index) is { } i ? (i.ReadCapacityUnits, i.WriteCapacityUnits) : throw DynamoErrors.Validation("The table does not have the specified index: " + index);
        var request = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(request))
        {
            w.WriteStartObject();
            w.WriteString("TableName"u8, definition.Name);
            if (index != null)
            {
                w.WriteStartArray("GlobalSecondaryIndexUpdates"u8);
                w.WriteStartObject();
                w.WriteStartObject("Update"u8);
                w.WriteString("IndexName"u8, index);
            }

            w.WriteStartObject("ProvisionedThroughput"u8);
            w.WriteNumber("ReadCapacityUnits"u8, read ? capacity : current.Item1);
            w.WriteNumber("WriteCapacityUnits"u8, read ? current.Item2 : capacity);
            w.WriteEndObject();
            if (index != null)
            {
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        using var document = JsonDocument.Parse(request.WrittenMemory);
        var context = new OperationContext(_engine, definition.Region, Guid.NewGuid().ToString());
        var response = new ArrayBufferWriter<byte>(1024);
        await using var writer = new Utf8JsonWriter(response);
        await UpdateTable.ExecuteAsync(context, document.RootElement, writer).ConfigureAwait(false);
    }

    /// <summary>
    /// Closes the minutes elapsed since the meter's last sample into datapoints; null when none closed (or the series
    /// was only now started).
    /// </summary>
    private MeterSeries? Sample(TableState table, string? index, DateTimeOffset now)
    {
        if (MeterOf(table, index) is not { } meter) return null;
        lock (_metersLock)
        {
            var key = (table.Number, index ?? "");
            if (!_meters.TryGetValue(key, out var series) || !ReferenceEquals(series.Meter, meter))
            {
                _meters[key] = new MeterSeries(meter, now);
                return null;
            }

            if (series.SampledAt == now) return series.Fresh ? series : null;
            var elapsed = now - series.SampledAt;
            var minutes = (int)Math.Floor((elapsed + Slack) / Period);
            series.Fresh = minutes >= 1 && series.Close(meter, now, elapsed, minutes);
            return series.Fresh ? series : null;
        }
    }

    private static CapacityMeter? MeterOf(TableState table, string? index) =>
        index == null ? table.Consumed : table.FindIndex(index) is { Definition.Global: true } i ? i.Consumed : null;

    private readonly record struct Decision(long Capacity, string Cause, ScalingDirection Direction);

    /// <summary>What the target's policies ask for now, or null for nothing.</summary>
    private static Decision? Decide(TableDefinition table, ScalableTargetDefinition target, IReadOnlyList<double> rates, DateTimeOffset now)
    {
        if (target.Policies.Count == 0 || rates.Count == 0) return null;
        var capacity = ScalableResource.CurrentCapacity(table, target.Index, target.IsRead);
        if (capacity <= 0) return null;
        var resourceId = ScalableResource.ResourceIdOf(table.Name, target.Index);
        var latest = rates[^1];
        var nowSeconds = now.ToUnixTimeMilliseconds() / 1000.0;

        // Scale out when any policy's AlarmHigh is in ALARM, to the largest capacity they ask for.
        long outCapacity = 0;
        ScalingPolicyDefinition? outPolicy = null;
        foreach (var p in target.Policies)
        {
            var utilization = p.TargetValue / 100;
            if (!AllBeyond(rates, HighPeriods, utilization * capacity, above: true)) continue;
            var wanted = Desired(latest, utilization);
            if (wanted > outCapacity)
            {
                outCapacity = wanted;
                outPolicy = p;
            }
        }

        if (outPolicy != null && !target.ScaleOutSuspended)
        {
            var next = Math.Clamp(outCapacity, target.MinCapacity, target.MaxCapacity);
            var cooling = target.LastScaleOutAt is { } at && nowSeconds < at + (outPolicy.ScaleOutCooldown ?? 0);
            if (next > capacity && (!cooling || next > target.LastScaleOutCapacity))
                return new Decision(next, AlarmCause(resourceId, outPolicy, high: true), ScalingDirection.ScaleOut);
            return null;
        }

        // Scale in only when every policy's AlarmHigh is quiet and AlarmLow is in ALARM, to the largest capacity they ask for.
        if (target.ScaleInSuspended) return null;
        long inCapacity = 0;
        ScalingPolicyDefinition? inPolicy = null;
        foreach (var p in target.Policies)
        {
            var utilization = p.TargetValue / 100;
            if (p.DisableScaleIn == true || !AllBeyond(rates, LowPeriods, (p.TargetValue - LowMargin) / 100 * capacity, above: false)) return null;
            var wanted = Desired(latest, utilization);
            if (inPolicy == null || wanted > inCapacity)
            {
                inCapacity = wanted;
                inPolicy = p;
            }
        }

        if (inPolicy == null) return null;
        var lower = Math.Clamp(inCapacity, target.MinCapacity, target.MaxCapacity);
        if (lower >= capacity) return null;
        if (target.LastScaleInAt is { } last && nowSeconds < last + (inPolicy.ScaleInCooldown ?? 0)) return null;
        return new Decision(lower, AlarmCause(resourceId, inPolicy, high: false), ScalingDirection.ScaleIn);
    }

    /// <summary>Whether the last <paramref name="periods"/> datapoints all lie above (or below) <paramref name="threshold"/>.</summary>
    private static bool AllBeyond(IReadOnlyList<double> rates, int periods, double threshold, bool above)
    {
        if (rates.Count < periods) return false;
        for (var i = rates.Count - periods; i < rates.Count; i++)
            if (above ? rates[i] <= threshold : rates[i] >= threshold) return false;
        return true;
    }

    /// <summary>Consumption over target utilization, rounded up (after rounding away floating-point noise).</summary>
    private static long Desired(double rate, double utilization) => (long)Math.Ceiling(Math.Round(rate / utilization, 6));

    private static string AlarmCause(string resourceId, ScalingPolicyDefinition policy, bool high) =>
        $"monitor alarm {ScalingPolicies.AlarmName(resourceId, policy, high)} in state ALARM triggered policy {policy.Name}";

    /// <summary>One meter's last sample and its recent per-minute consumption rates (units per second).</summary>
    private sealed class MeterSeries(CapacityMeter meter, DateTimeOffset now)
    {
        private readonly List<double> _read = [];
        private readonly List<double> _write = [];
        private double _readUnits = meter.ReadUnits;
        private double _writeUnits = meter.WriteUnits;

        public CapacityMeter Meter { get; } = meter;

        public DateTimeOffset SampledAt { get; private set; } = now;

        /// <summary>Whether the last sample closed at least one minute.</summary>
        public bool Fresh { get; set; }

        public IReadOnlyList<double> Rates(bool read) => read ? _read : _write;

        /// <summary>Spreads what was consumed since the last sample evenly over the <paramref name="minutes"/> it spans.</summary>
        public bool Close(CapacityMeter meter, DateTimeOffset now, TimeSpan elapsed, int minutes)
        {
            var read = meter.ReadUnits;
            var write = meter.WriteUnits;
            var seconds = Math.Max(elapsed.TotalSeconds, 1);
            Add(_read, Math.Max(0, read - _readUnits) / seconds, minutes);
            Add(_write, Math.Max(0, write - _writeUnits) / seconds, minutes);
            _readUnits = read;
            _writeUnits = write;
            SampledAt = now;
            return true;
        }

        private static void Add(List<double> series, double rate, int minutes)
        {
            for (var i = 0; i < Math.Min(minutes, LowPeriods); i++) series.Add(rate);
            if (series.Count > LowPeriods) series.RemoveRange(0, series.Count - LowPeriods);
        }
    }
}
