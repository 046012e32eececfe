using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Serverless.Engine;
using Serverless.Engine.Storage;
using Serverless.Replicator.Queues;

namespace Serverless.Replicator.GlobalTables;

/// <summary>
/// Global tables (version 2019.11.21) over the change log, the way triggers are: for every replicated table of every
/// region this process serves, ship the region's own writes (never replicated ones) from the change log to each
/// other replica's queue, and apply what arrives on this host's queue through the store's replica write path (last
/// writer wins per item). A new replica first gets every existing item with its version, then the log from before
/// the copy began. Settings kept in sync (indexes, TTL, billing) travel as Settings messages; replica membership as
/// Members messages. See docs/global-tables.md.
/// </summary>
public sealed partial class GlobalTableReplicator
{
    private const int MaxChangesPerRead = 2000;
    private readonly EngineRegions _regions;
    private readonly GlobalTablesOptions _options;
    private readonly IMessageQueues _queues;
    private readonly Route _own;
    private readonly Dictionary<string, Route> _peers = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Region, string Table, string Peer), Link> _links = new();
    private readonly ConcurrentDictionary<(string Region, uint Number), (string Name, List<string> Replicas)> _known = new();
    private readonly ConcurrentDictionary<(string Region, string Table, string Removed), long> _toldRemoved = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _lastTrim = Environment.TickCount64;
    private long _extendUntil;
    private TaskCompletionSource _poke = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GlobalTableReplicator(EngineRegions regions, GlobalTablesOptions options, IMessageQueues queues, Func<string, IMessageQueues> queuesFor, ILogger<GlobalTableReplicator> logger)
    {
        ArgumentNullException.ThrowIfNull(regions);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(queuesFor);
        _regions = regions;
        _options = options;
        _queues = queues;
        _logger = logger;
        _own = new Route(QueueOf(regions, options), queues, PayloadsOf(queues));
        foreach (var (region, peer) in options.Peers)
        {
            if (regions.Find(region) != null) continue;
            var peerQueues = string.IsNullOrEmpty(peer.Connection) ? queues : queuesFor(peer.Connection);
            _peers[region] = new Route(peer.Queue ?? GlobalTablesOptions.DefaultQueueOf(region), peerQueues, PayloadsOf(peerQueues));
        }

        foreach (var engine in regions.All)
        {
            engine.Database.LocalRegion = engine.Options.DefaultRegion;
            engine.GlobalTables = new RegionHost(this, engine);
        }
    }

    /// <summary>The queue this host's replicas receive on.</summary>
    public static string QueueOf(EngineRegions regions, GlobalTablesOptions options)
    {
        ArgumentNullException.ThrowIfNull(regions);
        ArgumentNullException.ThrowIfNull(options);
        return options.Queue is { Length: > 0 } q ? q : regions.Routed ? "ddb-replication" : GlobalTablesOptions.DefaultQueueOf(regions.Default.Options.DefaultRegion);
    }

    public ReplicationLatency Latency { get; } = new();

    /// <summary>Versions every replicated table before the host serves requests, so no write goes unversioned.</summary>
    public async Task StartAsync()
    {
        foreach (var engine in _regions.All)
        {
            foreach (var table in engine.Database.Tables)
            {
                if (table.Definition.Global is { Replicas.Count: > 0 })
                {
                    await engine.Database.TrackVersionsAsync(table).ConfigureAwait(false);
                    Remember(engine, table.Definition);
                }
            }
        }
    }

    /// <summary>
    /// One run of the shipping timer: passes over every replicated table until caught up, then keeps following the
    /// change logs for <see cref="GlobalTablesOptions.TailMilliseconds"/>. Runs never overlap.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!await _gate.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            // The previous run is still following the logs: it follows them for this tick too. (Returning alone left
            // no run for a whole second whenever a busy pass took a run past the next tick.)
            Interlocked.Exchange(ref _extendUntil, Environment.TickCount64 + _options.TailMilliseconds);
            return;
        }

        try
        {
            var until = Environment.TickCount64 + _options.TailMilliseconds;
            while (!cancellationToken.IsCancellationRequested)
            {
                var poke = Volatile.Read(ref _poke).Task;
                await PassAsync(cancellationToken).ConfigureAwait(false);
                await SweepPayloadsAsync(cancellationToken).ConfigureAwait(false);
                until = Math.Max(until, Interlocked.Read(ref _extendUntil));
                if (Environment.TickCount64 >= until) return;
                await Task.WhenAny(poke, Task.Delay(_options.PollMilliseconds, cancellationToken)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Poke() => Interlocked.Exchange(ref _poke, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task PassAsync(CancellationToken cancellationToken)
    {
        foreach (var engine in _regions.All)
        {
            var region = engine.Options.DefaultRegion;
            foreach (var table in engine.Database.Tables)
            {
                if (table.Definition.Global is not { Replicas.Count: > 0 }) continue;
                try
                {
                    await ServeTableAsync(engine, table, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    _logger.LogWarning(e, "Global table {Table} in {Region}: replication pass failed; retrying.", table.Definition.Name, region);
                }
            }

            // A replica deleted here (DeleteTable): the others stop replicating to it.
            foreach (var ((knownRegion, number), (name, replicas)) in _known)
            {
                if (knownRegion != region || engine.Database.Tables.Any(t => t.Number == number)) continue;
                _known.TryRemove((knownRegion, number), out _);
                var remaining = replicas.ToList();
                foreach (var peer in replicas) await SendAsync(Message(MessageType.Members, region, peer, name) with { Regions = remaining }, cancellationToken).ConfigureAwait(false);
                foreach (var key in _links.Keys.Where(k => k.Region == region && k.Table == name).ToList()) _links.TryRemove(key, out _);
            }
        }
    }

    private void Remember(DynamoEngine engine, TableDefinition d) =>
        _known[(engine.Options.DefaultRegion, d.TableNumber)] = (d.Name, [.. d.Global!.Replicas.Select(r => r.RegionName)]);

    private async Task ServeTableAsync(DynamoEngine engine, TableState table, CancellationToken cancellationToken)
    {
        var db = engine.Database;
        var region = engine.Options.DefaultRegion;
        var versions = await db.TrackVersionsAsync(table).ConfigureAwait(false);
        if (Environment.TickCount64 - _lastTrim > 60_000)
        {
            // Versions and tombstones older than the change log's retention: no peer can still send an older write.
            _lastTrim = Environment.TickCount64;
            versions.Trim((engine.Time.GetUtcNow() - Database.StreamRetention).ToUnixTimeMilliseconds() * 1000);
        }

        var d = table.Definition;
        Remember(engine, d);
        await SyncSettingsAsync(engine, table, cancellationToken).ConfigureAwait(false);
        foreach (var replica in d.Global!.Replicas)
        {
            var link = LinkOf(engine, d, replica.RegionName);
            switch (replica.Status)
            {
                case ReplicaStatus.Deleting:
                    await SendAsync(Message(MessageType.Delete, region, replica.RegionName, d.Name), cancellationToken).ConfigureAwait(false);
                    await RemoveReplicaAsync(engine, table, link, cancellationToken).ConfigureAwait(false);
                    continue;
                case ReplicaStatus.Updating:
                    // The replica's own overrides changed: no synced group did.
                    await SendAsync(Message(MessageType.Settings, region, replica.RegionName, d.Name) with { Definition = d, SyncedBefore = SyncedSettings.Fingerprint(d) }, cancellationToken)
                        .ConfigureAwait(false);
                    await db.UpdateTableAsync(table, t =>
                    {
                        if (t.Global!.Find(replica.RegionName) is { Status: ReplicaStatus.Updating } r) r.Status = ReplicaStatus.Active;
                    }).ConfigureAwait(false);
                    break;
                case ReplicaStatus.Creating:
                    if (!await CreateAsync(engine, table, link, cancellationToken).ConfigureAwait(false)) continue;
                    break;
            }

            if (!link.Copied) continue;
            try
            {
                await ShipAsync(engine, table, link, cancellationToken).ConfigureAwait(false);
                if (!link.LocalPeer) await AcknowledgeAsync(engine, d, link, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!link.LocalPeer && !cancellationToken.IsCancellationRequested)
            {
                await UnreachableAsync(engine, table, link, replica, e).ConfigureAwait(false);
                continue;
            }

            if (link.LocalPeer) link.SaveAckedIfMoved(d.TableId);
            link.FailingSince = null;
            if (!link.LocalPeer && link.UnackedSince is { } unacked && _options.AckTimeoutSeconds > 0
                && engine.Time.GetUtcNow() - unacked >= TimeSpan.FromSeconds(_options.AckTimeoutSeconds))
            {
                // Its queue takes messages, but the region applies none of them: it is down all the same.
                if (replica.Status == ReplicaStatus.Active)
                    _logger.LogWarning("Global table {Table}: region {Peer} has acknowledged nothing for {Seconds} s while changes wait; it is shown REGION_DISABLED.", d.Name, link.Peer, _options.AckTimeoutSeconds);
                await DisabledAsync(engine, table, link, unacked, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (replica.Status == ReplicaStatus.RegionDisabled)
            {
                _logger.LogInformation("Global table {Table}: region {Peer} is reachable again.", d.Name, replica.RegionName);
                await db.UpdateTableAsync(table, t =>
                {
                    if (t.Global!.Find(replica.RegionName) is { Status: ReplicaStatus.RegionDisabled } r)
                    {
                        r.Status = ReplicaStatus.Active;
                        r.InaccessibleSince = null;
                    }
                }).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A peer's queue refused a message: its backlog stays in the change log (shipping resumes from the checkpoint),
    /// and after <see cref="GlobalTablesOptions.UnreachableSeconds"/> the replica shows REGION_DISABLED with the time
    /// it was first found inaccessible, as AWS reports an inaccessible region.
    /// </summary>
    private async Task UnreachableAsync(DynamoEngine engine, TableState table, Link link, ReplicaDefinition replica, Exception e)
    {
        var now = engine.Time.GetUtcNow();
        if (link.FailingSince == null) _logger.LogWarning(e, "Global table {Table}: region {Peer} is unreachable; its changes wait in the change log.", table.Definition.Name, link.Peer);
        link.FailingSince ??= now;
        link.Rewind();
        if (replica.Status is not (ReplicaStatus.Active or ReplicaStatus.RegionDisabled) || now - link.FailingSince < TimeSpan.FromSeconds(_options.UnreachableSeconds)) return;
        await DisabledAsync(engine, table, link, link.FailingSince.Value, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>AWS removes a replica whose region stays inaccessible for more than 20 hours from the replication group.</summary>
    public static readonly TimeSpan RemovedAfter = TimeSpan.FromHours(20);

    /// <summary>
    /// The peer is inaccessible since <paramref name="since"/>: the replica shows REGION_DISABLED with that time, and
    /// after <see cref="RemovedAfter"/> it leaves the group here and at the other replicas (its table is not deleted;
    /// replication to it stops, as AWS documents).
    /// </summary>
    private async Task DisabledAsync(DynamoEngine engine, TableState table, Link link, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var db = engine.Database;
        var d = table.Definition;
        if (engine.Time.GetUtcNow() - since <= RemovedAfter)
        {
            // Already shown disabled: no catalog write (every pass comes here while the peer stays silent).
            if (d.Global?.Find(link.Peer) is not { Status: ReplicaStatus.Active }) return;
            var seconds = since.ToUnixTimeMilliseconds() / 1000.0;
            await db.UpdateTableAsync(table, t =>
            {
                if (t.Global!.Find(link.Peer) is { Status: ReplicaStatus.Active } r)
                {
                    r.Status = ReplicaStatus.RegionDisabled;
                    r.InaccessibleSince = seconds;
                }
            }).ConfigureAwait(false);
            return;
        }

        _logger.LogWarning("Global table {Table}: region {Peer} has been inaccessible for more than 20 hours; it is removed from the replication group.", d.Name, link.Peer);
        await RemoveReplicaAsync(engine, table, link, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes the link's peer out of this region's group and tells the other replicas.</summary>
    private async Task RemoveReplicaAsync(DynamoEngine engine, TableState table, Link link, CancellationToken cancellationToken)
    {
        var db = engine.Database;
        var d = table.Definition;
        var region = engine.Options.DefaultRegion;
        var now = engine.NowSeconds();
        await db.UpdateTableAsync(table, t =>
        {
            t.Global!.Replicas.RemoveAll(r => r.RegionName == link.Peer);
            (t.Global.Removed ??= new Dictionary<string, double>(StringComparer.Ordinal))[link.Peer] = now;
        }).ConfigureAwait(false);
        ReplicationCheckpoint.Delete(link.Path);
        _links.TryRemove((region, d.Name, link.Peer), out _);
        var members = Members(table.Definition, region);
        foreach (var other in table.Definition.Global!.Replicas)
            await SendAsync(Message(MessageType.Members, region, other.RegionName, d.Name) with { Regions = members }, cancellationToken).ConfigureAwait(false);
        await TellRemovedAsync(region, link.Peer, d.Name, members, cancellationToken).ConfigureAwait(false);
        if (table.Definition.Global.Replicas.Count == 0)
        {
            db.UntrackVersions(table);
            _known.TryRemove((region, d.TableNumber), out _);
        }
    }

    /// <summary>
    /// Tells a region it is no longer in the group (a Members message without it), so it stops replicating from its
    /// side too: when it is removed, and again (at most once a second) whenever it still sends. Best effort: a region
    /// that cannot be reached now hears it when it sends again.
    /// </summary>
    private async Task TellRemovedAsync(string region, string removed, string table, List<string> members, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        if (_toldRemoved.TryGetValue((region, table, removed), out var last) && now - last < 1000) return;
        _toldRemoved[(region, table, removed)] = now;
        try
        {
            await SendAsync(Message(MessageType.Members, region, removed, table) with { Regions = members }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.LogInformation(e, "Global table {Table}: could not tell {Region} that it left the replication group; it hears it when it sends again.", table, removed);
        }
    }

    /// <summary>
    /// Tells a peer on another host how far this region has applied its changes, at most once a second: the peer
    /// learns from these that this region is alive even when its queue would take messages with nobody reading them.
    /// </summary>
    private async Task AcknowledgeAsync(DynamoEngine engine, TableDefinition d, Link link, CancellationToken cancellationToken)
    {
        var applied = link.AppliedFromPeer;
        if (applied <= link.AckSent || Environment.TickCount64 - link.AckSentAt < 1000) return;
        await SendAsync(Message(MessageType.Ack, engine.Options.DefaultRegion, link.Peer, d.Name) with { NextLsn = applied }, cancellationToken).ConfigureAwait(false);
        link.AckSent = applied;
        link.AckSentAt = Environment.TickCount64;
    }

    /// <summary>The replica's creation: Create, then (once it exists) the copy, then CopyDone. True once the copy is sent.</summary>
    private async Task<bool> CreateAsync(DynamoEngine engine, TableState table, Link link, CancellationToken cancellationToken)
    {
        if (link.Copied) return true;
        var region = engine.Options.DefaultRegion;
        var d = table.Definition;
        if (!link.CreateSent)
        {
            await SendAsync(Message(MessageType.Create, region, link.Peer, d.Name) with { Definition = d, Regions = Members(d, region) }, cancellationToken).ConfigureAwait(false);
            link.CreateSent = true;
            return false;
        }

        if (!link.Created) return false;

        // The log from here on reaches the replica after the copy; writes the copy also sees arrive twice, harmlessly.
        var start = engine.Database.NextLsn;
        var total = Math.Max(1, table.ItemCount);
        long sent = 0;
        var lastProgress = -1;
        var changes = new List<ReplicatedChange>();
        var size = 0;
        await engine.Database.CopyItemsAsync(table, async batch =>
        {
            foreach (var (key, value, version) in batch)
            {
                var change = new ReplicatedChange
                {
                    Lsn = version.Lsn, Ts = version.TimestampMicros, Key = key[4..], Item = value,
                    Origin = version.Region == region ? null : version.Region,
                };
                var bytes = (key.Length + value.Length) * 4 / 3 + 64;
                if (changes.Count > 0 && size + bytes > ReplicationMessage.MaxBytes) await FlushCopyAsync().ConfigureAwait(false);
                changes.Add(change);
                size += bytes;
                sent++;
            }

            var progress = (int)Math.Min(99, sent * 100 / total);
            if (progress / 10 != lastProgress / 10)
            {
                lastProgress = progress;
                await engine.Database.UpdateTableAsync(table, t =>
                {
                    if (t.Global!.Find(link.Peer) is { Status: ReplicaStatus.Creating } r) r.PercentProgress = progress.ToString(CultureInfo.InvariantCulture);
                }).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
        await FlushCopyAsync().ConfigureAwait(false);
        await SendAsync(Message(MessageType.CopyDone, region, link.Peer, d.Name) with { NextLsn = start }, cancellationToken).ConfigureAwait(false);
        link.Begin(start);
        if (!link.LocalPeer) link.Save(d.TableId, start, copied: true);
        return true;

        async Task FlushCopyAsync()
        {
            if (changes.Count == 0) return;
            var progress = (int)Math.Min(99, sent * 100 / total);
            await SendAsync(Message(MessageType.Changes, region, link.Peer, d.Name) with { Changes = [.. changes], Copy = true, Progress = progress }, cancellationToken)
                .ConfigureAwait(false);
            changes.Clear();
            size = 0;
        }
    }

    /// <summary>Sends the region's own writes of the table from the link's position, in messages of at most MaxBytes.</summary>
    private async Task ShipAsync(DynamoEngine engine, TableState table, Link link, CancellationToken cancellationToken)
    {
        var db = engine.Database;
        if (db.Log is not { } log) return;
        var region = engine.Options.DefaultRegion;
        if (link.Batched && Environment.TickCount64 - link.ShippedAt < _options.ShipIntervalMilliseconds) return;
        while (true)
        {
            var from = link.Next;
            var changes = new List<ReplicatedChange>();
            var next = ReadChanges(log, table.Number, link, changes);
            if (next == from) return;
            var d = table.Definition;
            var index = 0;
            var messageFrom = from;
            ulong sentUpTo = 0;
            while (index < changes.Count || messageFrom < next)
            {
                var batch = new List<ReplicatedChange>();
                var size = 0;
                while (index < changes.Count)
                {
                    var c = changes[index];
                    var bytes = (c.Key.Length + (c.Item?.Length ?? 0)) * 4 / 3 + 64;
                    if (batch.Count > 0 && size + bytes > ReplicationMessage.MaxBytes && batch[^1].Lsn != c.Lsn) break;
                    batch.Add(c);
                    size += bytes;
                    index++;
                }

                var messageNext = index < changes.Count ? changes[index].Lsn : next;
                if (batch.Count > 0)
                {
                    // Registered first: an in-process peer may apply (and ack) the message before SendAsync returns.
                    if (link.LocalPeer) link.Outstanding(messageFrom, messageNext);
                    await SendAsync(Message(MessageType.Changes, region, link.Peer, d.Name) with { Changes = batch, FromLsn = messageFrom, NextLsn = messageNext }, cancellationToken)
                        .ConfigureAwait(false);
                    sentUpTo = messageNext;
                }

                messageFrom = messageNext;
                if (batch.Count == 0) break;
            }

            link.Sent(next);
            if (sentUpTo > 0) link.ShippedAt = Environment.TickCount64;
            if (!link.LocalPeer)
            {
                link.Save(d.TableId, next, copied: true);
                if (sentUpTo > 0) link.AwaitAck(sentUpTo, engine.Time.GetUtcNow()); // the peer acknowledges the messages' NextLsn
            }

            if (changes.Count < MaxChangesPerRead) return;
        }
    }

    /// <summary>
    /// Reads this region's own committed writes of one table from <paramref name="link"/>'s position; returns the
    /// sequence number after the last record read (everything before it was looked at).
    /// </summary>
    private static ulong ReadChanges(ChangeLog log, uint tableNumber, Link link, List<ReplicatedChange> output)
    {
        var upTo = log.DurableLsn;
        var segments = log.Segments;
        var next = link.Next;
        while (segments.Count > 0 && next <= upTo && output.Count < MaxChangesPerRead)
        {
            var index = segments.Count - 1;
            while (index > 0 && segments[index].FirstLsn > next) index--;
            var (first, path) = segments[index];
            if (first > next) next = first; // trimmed: beyond retention (see docs/global-tables.md)
            var offset = link.Segment == first && link.OffsetLsn <= next ? link.Offset : 0;
            var at = next;
            var end = ChangeLogReader.Read(log.Cipher, path, offset, upTo, (in ChangeRecord r) =>
            {
                if (r.Lsn < at) return true;
                if (output.Count >= MaxChangesPerRead) return false;
                if (r.Kind == ChangeKind.ItemWrite)
                {
                    if (r.TableNumber == tableNumber && (r.Flags & ChangeFlags.Replicated) == 0) output.Add(ChangeOf(in r));
                }
                else if (r.Kind == ChangeKind.Transaction)
                {
                    // A transaction is atomic here; elsewhere its items arrive as separate writes, as on AWS.
                    var items = r.EnumerateTransactionItems();
                    while (items.MoveNext())
                    {
                        var item = items.Current;
                        if (item.TableNumber == tableNumber) output.Add(ChangeOf(in item));
                    }
                }

                at = r.Lsn + 1;
                return true;
            });
            next = Math.Max(next, at);
            link.Hint(first, end, next);
            if (output.Count >= MaxChangesPerRead || index + 1 >= segments.Count || segments[index + 1].FirstLsn > upTo) break;
            next = Math.Max(next, segments[index + 1].FirstLsn);
        }

        return next;
    }

    private static ReplicatedChange ChangeOf(in ChangeRecord r) => new()
    {
        Lsn = r.Lsn, Ts = r.TimestampMicros, Key = r.Key[4..].ToArray(), Item = r.HasNewImage ? r.NewImage.ToArray() : null,
    };

    /// <summary>Handles one message from this host's replication queue (the GlobalTablesApply queue function).</summary>
    public Task HandleAsync(string text, CancellationToken cancellationToken)
    {
        var message = ReplicationMessage.Parse(text);
        return message.Type == MessageType.Payload ? HandlePayloadAsync(message, cancellationToken) : HandleAsync(message, cancellationToken);
    }

    /// <summary>Handles one message, whether it came inline or from its payload blob.</summary>
    private async Task HandleAsync(ReplicationMessage message, CancellationToken cancellationToken)
    {
        var engine = _regions.Find(message.Target);
        if (engine == null)
        {
            _logger.LogWarning("Replication message for region {Region}, which this host does not serve; dropped.", message.Target);
            return;
        }

        var db = engine.Database;
        var table = db.FindTable(message.Table);
        if (table?.Definition.Global is { } global && global.IsRemoved(message.Source) && message.Type != MessageType.Create)
        {
            // Removed from the group (inaccessible for more than 20 hours, or deleted): replication from it has
            // stopped, as AWS stops it both ways. It learns it is out from the answer and stops sending.
            _logger.LogWarning("Global table {Table} in {Region}: {Type} from {Source}, which left the replication group; ignored.", message.Table, message.Target, message.Type, message.Source);
            if (message.Type == MessageType.Changes)
                await TellRemovedAsync(message.Target, message.Source, message.Table, Members(table.Definition, message.Target), cancellationToken).ConfigureAwait(false);
            return;
        }

        switch (message.Type)
        {
            case MessageType.Create:
                await CreateReplicaTableAsync(engine, message).ConfigureAwait(false);
                await SendAsync(Message(MessageType.Created, message.Target, message.Source, message.Table), cancellationToken).ConfigureAwait(false);
                return;
            case MessageType.Created:
                if (table != null) LinkOf(engine, table.Definition, message.Source).Created = true;
                Poke();
                return;
            case MessageType.Changes:
                if (table?.Definition.Global == null) return; // deleted, or not a replica (any more): drop
                await ApplyAsync(engine, table, message).ConfigureAwait(false);
                if (!message.Copy && _links.TryGetValue((message.Source, message.Table, message.Target), out var sourceLink)) sourceLink.Acked(message.FromLsn);
                else if (!message.Copy && _regions.Find(message.Source) == null) LinkOf(engine, table.Definition, message.Source).Applied(message.NextLsn);
                return;
            case MessageType.Ack:
                if (table != null && _links.TryGetValue((message.Target, message.Table, message.Source), out var acked)) acked.RemoteAcked(message.NextLsn, engine.Time.GetUtcNow());
                return;
            case MessageType.CopyDone:
                if (_regions.Find(message.Source) != null && _links.TryGetValue((message.Source, message.Table, message.Target), out var copier)
                    && _regions.Find(message.Source)!.Database.FindTable(message.Table) is { } sourceTable)
                    copier.Save(sourceTable.Definition.TableId, message.NextLsn, copied: true);
                await SendAsync(Message(MessageType.Active, message.Target, message.Source, message.Table), cancellationToken).ConfigureAwait(false);
                return;
            case MessageType.Active:
                if (table?.Definition.Global?.Find(message.Source) == null) return;
                await db.UpdateTableAsync(table, t =>
                {
                    if (t.Global!.Find(message.Source) is { } r)
                    {
                        r.Status = ReplicaStatus.Active;
                        r.PercentProgress = null;
                    }
                }).ConfigureAwait(false);
                var regions = Members(table.Definition, message.Target);
                foreach (var other in table.Definition.Global!.Replicas)
                {
                    if (other.RegionName != message.Source)
                        await SendAsync(Message(MessageType.Members, message.Target, other.RegionName, message.Table) with { Regions = regions }, cancellationToken).ConfigureAwait(false);
                }

                return;
            case MessageType.Settings:
                if (table != null && message.Definition != null) await ApplySettingsAsync(engine, table, message).ConfigureAwait(false);
                return;
            case MessageType.Members:
                if (table != null && message.Regions != null) await ApplyMembersAsync(engine, table, message.Source, message.Regions).ConfigureAwait(false);
                return;
            case MessageType.Delete:
                if (table != null && table.Definition.Global != null) await db.DeleteTableAsync(table).ConfigureAwait(false);
                Poke();
                return;
            default:
                _logger.LogWarning("Unknown replication message type {Type}; dropped.", message.Type);
                return;
        }
    }

    private async Task ApplyAsync(DynamoEngine engine, TableState table, ReplicationMessage message)
    {
        var db = engine.Database;
        await db.TrackVersionsAsync(table).ConfigureAwait(false);
        var commits = new List<Task>(message.Changes?.Count ?? 0);
        var now = engine.Time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        foreach (var change in message.Changes ?? [])
        {
            var key = new byte[change.Key.Length + 4];
            BinaryPrimitives.WriteUInt32BigEndian(key, table.Number);
            change.Key.CopyTo(key, 4);
            var origin = new ReplicaOrigin(change.Origin ?? message.Source, change.Ts, change.Lsn);
            var result = await db.ApplyReplicatedAsync(table, key, origin, change.Item != null, change.Item).ConfigureAwait(false);
            commits.Add(result.Committed);
            if (!message.Copy) Latency.Record(message.Table, message.Source, message.Target, Math.Max(0, now - change.Ts) / 1000.0);
        }

        await Task.WhenAll(commits).ConfigureAwait(false);
    }

    /// <summary>Creates the replica table here from the source's definition, with this region's overrides.</summary>
    private async Task CreateReplicaTableAsync(DynamoEngine engine, ReplicationMessage message)
    {
        var db = engine.Database;
        var source = message.Definition ?? throw new InvalidDataException("Create without a definition.");
        var region = engine.Options.DefaultRegion;
        if (db.FindTable(source.Name) is { } existing)
        {
            if (existing.Definition.Global?.Find(message.Source) == null)
                _logger.LogWarning("Global table {Table}: cannot create the replica in {Region}, a table of that name exists there.", source.Name, region);
            return;
        }

        var mine = source.Global?.Find(region);
        var now = engine.NowSeconds();
        var table = await db.CreateTableAsync(source.Name, next =>
        {
            var number = next();
            var d = new TableDefinition
            {
                Name = source.Name, TableNumber = number, TableId = Guid.NewGuid().ToString(), Region = region, AccountId = source.AccountId,
                HashKey = source.HashKey, RangeKey = source.RangeKey, AttributeDefinitions = [.. source.AttributeDefinitions],
                BillingMode = source.BillingMode, ReadCapacityUnits = mine?.ReadCapacityUnitsOverride ?? source.ReadCapacityUnits,
                WriteCapacityUnits = source.WriteCapacityUnits, TableClass = mine?.TableClassOverride ?? source.TableClass, CreationDateTime = now,
                Tags = new Dictionary<string, string>(source.Tags, StringComparer.Ordinal), TimeToLiveAttribute = source.TimeToLiveAttribute,
                StreamViewType = source.StreamViewType ?? "NEW_AND_OLD_IMAGES", // AWS copies the view type as it is
                Streams = [new StreamDefinition { Label = StreamLabel(now), ViewType = source.StreamViewType ?? "NEW_AND_OLD_IMAGES", StartLsn = db.NextLsn, CreatedAt = now }],
                Indexes = source.Indexes?.Select(i => NewIndex(i, next, IndexStatus.Active)).ToList(),
                Global = new GlobalTableDefinition
                {
                    Replicas = [.. (message.Regions ?? [message.Source]).Where(r => r != region).Select(r => new ReplicaDefinition { RegionName = r, Status = ReplicaStatus.Active })],
                },
            };
            d.Global.SyncedSettings = SyncedSettings.Fingerprint(d);
            if (source.Global?.SettingsVersions is { } versions) d.Global.SettingsVersions = new Dictionary<string, string>(versions, StringComparer.Ordinal);
            return d;
        }).ConfigureAwait(false);
        await db.TrackVersionsAsync(table).ConfigureAwait(false);
        foreach (var peer in table.Definition.Global!.Replicas) LinkOf(engine, table.Definition, peer.RegionName).BeginSaved(table.Definition.TableId, db.NextLsn);
        Remember(engine, table.Definition);
        Poke();
    }

    private static IndexDefinition NewIndex(IndexDefinition i, Func<uint> next, string status) => new()
    {
        Name = i.Name, Number = next(), Global = i.Global, HashKey = i.HashKey, RangeKey = i.RangeKey, ProjectionType = i.ProjectionType,
        NonKeyAttributes = i.NonKeyAttributes == null ? null : [.. i.NonKeyAttributes], Status = status,
        ReadCapacityUnits = i.ReadCapacityUnits, WriteCapacityUnits = i.WriteCapacityUnits,
    };

    private static string StreamLabel(double now) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)(now * 1000)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fff", CultureInfo.InvariantCulture);

    /// <summary>Sends the table's synced settings to its replicas when they changed here.</summary>
    private async Task SyncSettingsAsync(DynamoEngine engine, TableState table, CancellationToken cancellationToken)
    {
        var d = table.Definition;
        var fingerprint = SyncedSettings.Fingerprint(d);
        var before = d.Global!.SyncedSettings;
        if (before == fingerprint) return;

        // Each changed group gets this region's version of now: of two regions changing it at once, the later wins.
        var region = engine.Options.DefaultRegion;
        var now = engine.Time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        var versions = d.Global.SettingsVersions == null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(d.Global.SettingsVersions, StringComparer.Ordinal);
        foreach (var group in SyncedSettings.Changed(SyncedSettings.Groups(d), SyncedSettings.Parse(before)))
            versions[group] = SyncedSettings.Next(SyncedSettings.VersionOf(versions, group), now, region).ToString();
        await engine.Database.UpdateTableAsync(table, t => t.Global!.SettingsVersions = versions).ConfigureAwait(false);
        d = table.Definition;
        foreach (var replica in d.Global!.Replicas)
        {
            if (replica.Status != ReplicaStatus.Deleting)
            {
                await SendAsync(Message(MessageType.Settings, region, replica.RegionName, d.Name) with { Definition = d, SyncedBefore = before, Versions = versions }, cancellationToken)
                    .ConfigureAwait(false);
            }
        }

        await engine.Database.UpdateTableAsync(table, t => t.Global!.SyncedSettings = fingerprint).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies what changed in another replica's synced settings (indexes added and backfilled, or removed; TTL;
    /// billing and write capacity), and this replica's overrides from its definition.
    /// </summary>
    private async Task ApplySettingsAsync(DynamoEngine engine, TableState table, ReplicationMessage message)
    {
        var db = engine.Database;
        var source = message.Definition!;
        var changed = SyncedSettings.Changed(SyncedSettings.Groups(source), SyncedSettings.Parse(message.SyncedBefore));
        var added = new List<uint>();
        var ttlChanged = false;
        var region = engine.Options.DefaultRegion;
        var now = engine.Time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        var lost = new List<string>();
        await db.UpdateTableAsync(table, (d, next) =>
        {
            // Last writer wins per group: a group keeps its value here when this replica's version is newer,
            // counting a change made here and not sent yet as made now.
            var mine = SyncedSettings.Groups(d);
            var synced = SyncedSettings.Parse(d.Global!.SyncedSettings);
            var versions = d.Global.SettingsVersions ??= new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var group in changed)
            {
                var incoming = message.Versions?.TryGetValue(group, out var v) == true ? SyncedSettings.Version.Parse(v) : new SyncedSettings.Version(message.SentAt * 1000, message.Source);
                mine.TryGetValue(group, out var value);
                string? syncedValue = null;
                var pending = synced != null && (synced.TryGetValue(group, out syncedValue) ? syncedValue != value : value != null);
                if (SyncedSettings.Wins(incoming, SyncedSettings.VersionOf(versions, group), pending, now, region)) versions[group] = incoming.ToString();
                else lost.Add(group);
            }

            foreach (var group in lost) changed.Remove(group);
            var own = source.Global?.Find(region);
            if (changed.Contains(SyncedSettings.Capacity))
            {
                d.BillingMode = source.BillingMode;
                d.WriteCapacityUnits = source.WriteCapacityUnits;
                d.ReadCapacityUnits = source.ReadCapacityUnits;
            }

            if (own?.ReadCapacityUnitsOverride is { } read) d.ReadCapacityUnits = read;
            if (own?.TableClassOverride is { } tableClass) d.TableClass = tableClass;
            if (changed.Contains(SyncedSettings.Ttl))
            {
                ttlChanged = d.TimeToLiveAttribute != source.TimeToLiveAttribute;
                d.TimeToLiveAttribute = source.TimeToLiveAttribute;
            }

            foreach (var group in changed)
            {
                if (!group.StartsWith(SyncedSettings.IndexPrefix, StringComparison.Ordinal)) continue;
                var name = group[SyncedSettings.IndexPrefix.Length..];
                if (source.FindIndex(name) is not { Global: true } index)
                {
                    d.Indexes?.RemoveAll(i => i.Global && i.Name == name);
                    continue;
                }

                if (d.FindIndex(name) != null) continue;
                var created = NewIndex(index, next, IndexStatus.Creating);
                (d.Indexes ??= []).Add(created);
                added.Add(created.Number);
                foreach (var attribute in new[] { index.HashKey, index.RangeKey })
                {
                    if (attribute != null && !d.AttributeDefinitions.Contains(attribute)) d.AttributeDefinitions.Add(attribute);
                }
            }

            if (d.Indexes is { Count: 0 }) d.Indexes = null;
            if (d.Global?.Find(message.Source) is { } r && own != null) r.Status = r.Status == ReplicaStatus.Updating ? ReplicaStatus.Active : r.Status;
            d.Global!.SyncedSettings = SyncedSettings.AfterApplying(d.Global.SyncedSettings, d, changed);
        }).ConfigureAwait(false);
        if (changed.Count > 0)
            _logger.LogInformation("Global table {Table} in {Region}: applied settings {Groups} from {Source}.", source.Name, region, string.Join(", ", changed), message.Source);
        if (lost.Count > 0)
            _logger.LogInformation("Global table {Table} in {Region}: kept its newer settings {Groups} over {Source}'s.", source.Name, region, string.Join(", ", lost), message.Source);
        foreach (var number in added) db.StartBackfill(table, number);
        if (ttlChanged) db.StartExpiryFill(table);
    }

    /// <summary>Another replica's view of the group: add the replicas this one lacks, forget those no longer in it.</summary>
    private async Task ApplyMembersAsync(DynamoEngine engine, TableState table, string source, List<string> regions)
    {
        var region = engine.Options.DefaultRegion;
        var d = table.Definition;
        var now = engine.NowSeconds();
        if (!regions.Contains(region))
        {
            // A member's view of the group without this region: it was removed (inaccessible for more than 20
            // hours). Replication stops from here too; the table stays, with its items, as a regional table.
            if (d.Global?.Find(source) == null) return;
            _logger.LogWarning("Global table {Table} in {Region}: {Source} removed this region from the replication group; replication to and from it stops.", d.Name, region, source);
            var former = d.Global.Replicas.Select(r => r.RegionName).Append(source).Distinct(StringComparer.Ordinal).ToList();
            await engine.Database.UpdateTableAsync(table, t =>
            {
                t.Global!.Replicas.Clear();
                t.Global.Removed ??= new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var r in former) t.Global.Removed[r] = now;
            }).ConfigureAwait(false);
            foreach (var r in former)
            {
                if (_links.TryRemove((region, d.Name, r), out var old)) ReplicationCheckpoint.Delete(old.Path);
            }

            engine.Database.UntrackVersions(table);
            _known.TryRemove((region, d.TableNumber), out _);
            return;
        }

        var others = regions.Where(r => r != region).ToList();
        var missing = others.Where(r => d.Global?.Find(r) == null).ToList();
        var gone = d.Global?.Replicas.Where(r => !others.Contains(r.RegionName) && r.Status != ReplicaStatus.Creating).Select(r => r.RegionName).ToList() ?? [];
        if (missing.Count == 0 && gone.Count == 0) return;
        var stream = d.Streams?.FindLast(s => s.EndLsn == 0);
        await engine.Database.UpdateTableAsync(table, t =>
        {
            t.Global ??= new GlobalTableDefinition();
            t.Global.Replicas.RemoveAll(r => gone.Contains(r.RegionName));
            foreach (var r in gone) (t.Global.Removed ??= new Dictionary<string, double>(StringComparer.Ordinal))[r] = now;
            foreach (var r in missing)
            {
                t.Global.Replicas.Add(new ReplicaDefinition { RegionName = r, Status = ReplicaStatus.Active });
                t.Global.Removed?.Remove(r);
            }

            if (t.Global.Removed is { Count: 0 }) t.Global.Removed = null;
        }).ConfigureAwait(false);
        foreach (var r in gone)
        {
            if (_links.TryRemove((region, d.Name, r), out var link)) ReplicationCheckpoint.Delete(link.Path);
        }

        // A replica added elsewhere got that region's items; this region's own writes it may lack are all in the
        // retained stream, so they are sent from its start (last writer wins drops what it already has).
        foreach (var r in missing) LinkOf(engine, table.Definition, r).BeginSaved(table.Definition.TableId, stream?.StartLsn ?? engine.Database.NextLsn);
        if (table.Definition.Global!.Replicas.Count == 0) engine.Database.UntrackVersions(table);
        Remember(engine, table.Definition);
        Poke();
    }

    private static List<string> Members(TableDefinition d, string region) =>
        [region, .. d.Global!.Replicas.Where(r => r.Status != ReplicaStatus.Deleting).Select(r => r.RegionName)];

    private ReplicationMessage Message(string type, string source, string target, string table) => new()
    {
        Type = type, Source = source, Target = target, Table = table, SentAt = _regions.Default.Time.GetUtcNow().ToUnixTimeMilliseconds(),
    };

    private async Task SendAsync(ReplicationMessage message, CancellationToken cancellationToken)
    {
        var route = Destination(message.Target);
        if (ReferenceEquals(route.Queues, _queues) && _regions.Find(message.Target) != null)
        {
            await EnqueueAsync(route, message, cancellationToken).ConfigureAwait(false);
            return;
        }

        // A peer's storage may be unreachable: a send that hangs counts as a failure instead of stalling every table.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.SendTimeoutSeconds));
        try
        {
            await EnqueueAsync(route, message, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Sending to region {message.Target}'s queue {route.Queue} timed out.", e);
        }
    }

    private Route Destination(string region)
    {
        if (_regions.Find(region) != null) return _own;
        if (_peers.TryGetValue(region, out var peer)) return peer;
        throw new InvalidOperationException($"Region {region} is not served by this host and has no GlobalTables__Peers__{region}__Queue.");
    }

    private Link LinkOf(DynamoEngine engine, TableDefinition d, string peer)
    {
        var region = engine.Options.DefaultRegion;
        return _links.GetOrAdd((region, d.Name, peer), _ =>
        {
            var path = ReplicationCheckpoint.PathOf(engine.Options.DataDirectory, d.Name, peer);
            var link = new Link(peer, d.Name, path, _regions.Find(peer) != null) 
            {
                Batched = (_regions.Find(peer) == null && _peers.TryGetValue(peer, out var remote) ? remote.Queues : _queues) is not InProcessMessageQueues,
            };
            if (ReplicationCheckpoint.Load(path) is { } saved && saved.TableId == d.TableId) link.Resume(saved);
            return link;
        });
    }

    /// <summary>What this region knows of replicating one table to one peer.</summary>
    private sealed class Link(string peer, string table, string path, bool localPeer)
    {
        private readonly SortedDictionary<ulong, ulong> _outstanding = [];
        private readonly Lock _gate = new();
        private ulong _acked;
        private ulong _saved;
        private readonly Lock _saving = new();

        public string Peer { get; } = peer;

        public string Path { get; } = path;

        /// <summary>The peer runs in this process: its queue dies with it, so the checkpoint waits for its acks.</summary>
        public bool LocalPeer { get; } = localPeer;

        public bool CreateSent { get; set; }

        /// <summary>Its queue is an Azure Storage queue: changes leave at most every ShipIntervalMilliseconds.</summary>
        public bool Batched { get; init; }

        /// <summary>When changes last left for the peer (Environment.TickCount64).</summary>
        public long ShippedAt { get; set; } = long.MinValue / 2;

        /// <summary>When sends to this peer started failing; null while they succeed.</summary>
        public DateTimeOffset? FailingSince { get; set; }

        /// <summary>A peer on another host: since when changes it was sent wait for its acknowledgement; null when none wait.</summary>
        public DateTimeOffset? UnackedSince { get; private set; }

        private ulong _remoteAcked;
        private ulong _awaited;
        private ulong _applied;

        /// <summary>How far this region has applied the changes the peer sent (its log's sequence numbers).</summary>
        public ulong AppliedFromPeer => Interlocked.Read(ref _applied);

        public ulong AckSent { get; set; }

        public long AckSentAt { get; set; }

        /// <summary>Changes up to <paramref name="next"/> went to the peer's queue: the peer should acknowledge them.</summary>
        public void AwaitAck(ulong next, DateTimeOffset now)
        {
            lock (_gate)
            {
                _awaited = Math.Max(_awaited, next);
                if (_remoteAcked < _awaited) UnackedSince ??= now;
            }
        }

        /// <summary>The peer applied this region's changes up to <paramref name="next"/>.</summary>
        public void RemoteAcked(ulong next, DateTimeOffset now)
        {
            lock (_gate)
            {
                if (next <= _remoteAcked) return;
                _remoteAcked = next;
                UnackedSince = _remoteAcked >= _awaited ? null : now; // progress: the wait starts again
            }
        }

        public void Applied(ulong next)
        {
            lock (_gate) _applied = Math.Max(_applied, next);
        }

        public bool Created { get; set; }

        public bool Copied { get; private set; }

        public ulong Next { get; private set; }

        public ulong Segment { get; private set; }

        public long Offset { get; private set; }

        public ulong OffsetLsn { get; private set; }

        public void Resume(ReplicationCheckpoint saved)
        {
            Copied = saved.Copied;
            CreateSent = Created = saved.Copied;
            Next = _acked = _saved = saved.Lsn;
        }

        public void Begin(ulong lsn)
        {
            Copied = CreateSent = Created = true;
            Next = _acked = lsn;
        }

        /// <summary>
        /// <see cref="Begin"/>, saved at once: a region that joined a group (it has nothing to copy) ships and
        /// acknowledges from here after a restart, even when it stops before its first shipping pass.
        /// </summary>
        public void BeginSaved(string tableId, ulong lsn)
        {
            Begin(lsn);
            Save(tableId, lsn, copied: true);
        }

        /// <summary>After a failed send: ship again from what was last known to have gone (the checkpoint's position).</summary>
        public void Rewind()
        {
            lock (_gate)
            {
                _outstanding.Clear();
                Next = _saved > 0 ? _saved : _acked;
                _acked = Next;
            }
        }

        public void Hint(ulong segment, long offset, ulong lsn) => (Segment, Offset, OffsetLsn) = (segment, offset, lsn);

        public void Sent(ulong next)
        {
            lock (_gate)
            {
                Next = next;
                if (_outstanding.Count == 0) _acked = next;
            }
        }

        public void Outstanding(ulong from, ulong next)
        {
            lock (_gate) _outstanding[from] = next;
        }

        /// <summary>The peer applied the message that starts at <paramref name="from"/>.</summary>
        public void Acked(ulong from)
        {
            lock (_gate)
            {
                _outstanding.Remove(from);
                _acked = _outstanding.Count == 0 ? Next : _outstanding.Keys.First();
            }
        }

        /// <summary>Saves how far the peer has applied, when that moved since the last save.</summary>
        public void SaveAckedIfMoved(string tableId)
        {
            ulong acked;
            lock (_gate) acked = _acked;
            if (acked != _saved) Save(tableId, acked, copied: true);
        }

        public void Save(string tableId, ulong lsn, bool copied)
        {
            // The shipping pass and the queue function (CopyDone) both save; one file write at a time.
            lock (_saving)
            {
                new ReplicationCheckpoint { Table = table, TableId = tableId, Peer = Peer, Lsn = lsn, Copied = copied }.Save(Path);
                _saved = lsn;
            }
        }
    }

    /// <summary>The engine's view of the replicator, one per region.</summary>
    private sealed class RegionHost(GlobalTableReplicator replicator, DynamoEngine engine) : IGlobalTablesHost
    {
        public string? ReplicaProblem(string region, string table)
        {
            if (replicator._regions.Find(region) is { } local) return local.Database.FindTable(table) != null ? "exists" : null;
            return replicator._peers.ContainsKey(region) ? null : "region";
        }

        public IReadOnlyList<string> Regions =>
            [.. replicator._regions.All.Select(e => e.Options.DefaultRegion).Concat(replicator._peers.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

        public void Poke()
        {
            _ = engine;
            replicator.Poke();
        }
    }
}
