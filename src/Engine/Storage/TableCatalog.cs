using System.Collections.Frozen;
using System.Text.Json;

namespace Serverless.Engine.Storage;

/// <summary>
/// The tables of one engine, by name and by number. Copy-on-write: every change builds a new snapshot under the
/// catalog lock and publishes it with one reference write, so the lookup that every request makes takes no lock.
/// Changes are committed through the change log (<see cref="ItemWriter.AppendCatalog"/>) while the lock is held, so
/// catalog records are logged in the order they were applied.
/// </summary>
public sealed class TableCatalog
{
    private readonly object _lock = new();
    private Snapshot _current = Snapshot.Empty;
    private uint _nextTableNumber = 1;
    private readonly HashSet<uint> _purging = []; // dropped tables whose items are not all deleted yet

    private sealed class Snapshot(FrozenDictionary<string, TableState> byName, FrozenDictionary<uint, TableState> byNumber)
    {
        public static readonly Snapshot Empty = new(FrozenDictionary<string, TableState>.Empty, FrozenDictionary<uint, TableState>.Empty);

        public readonly FrozenDictionary<string, TableState> ByName = byName;
        public readonly FrozenDictionary<uint, TableState> ByNumber = byNumber;
        public readonly TableState[] All = [.. byName.Values];
    }

    /// <summary>The lock under which the catalog changes; also orders catalog records with the numbers they draw.</summary>
    internal object SyncRoot => _lock;

    public IReadOnlyCollection<TableState> All => Volatile.Read(ref _current).All;

    public TableState? Find(string name) => Volatile.Read(ref _current).ByName.GetValueOrDefault(name);

    public TableState? Find(uint number) => Volatile.Read(ref _current).ByNumber.GetValueOrDefault(number);

    public bool Contains(uint number) => Volatile.Read(ref _current).ByNumber.ContainsKey(number);

    /// <summary>The definitions and the next number, read together (for a checkpoint's manifest).</summary>
    public (List<TableDefinition> Tables, uint NextNumber) Capture()
    {
        lock (_lock)
        {
            var tables = new List<TableDefinition>(_current.All.Length);
            foreach (var t in _current.ByNumber.Values) tables.Add(t.Definition);
            return (tables, _nextTableNumber);
        }
    }

    /// <summary>Creates a table; <paramref name="build"/> draws numbers from the sequence. <see cref="StoreStatus.TableExists"/> if the name is taken.</summary>
    internal StoreStatus Create(string name, Func<Func<uint>, TableDefinition> build, Func<TableDefinition, CommitTicket> commit, out TableState? state, out CommitTicket ticket)
    {
        lock (_lock)
        {
            state = null;
            ticket = default;
            if (_current.ByName.ContainsKey(name)) return StoreStatus.TableExists;
            var definition = build(() => _nextTableNumber++);
            state = AddLocked(definition);
            ticket = commit(definition);
            return StoreStatus.Ok;
        }
    }

    /// <summary>Applies a change to a copy of the definition and commits it. <see cref="StoreStatus.TableNotFound"/> for a dropped table.</summary>
    internal StoreStatus Update(TableState table, Action<TableDefinition, Func<uint>> change, Func<TableDefinition, CommitTicket> commit, out CommitTicket ticket)
    {
        lock (_lock)
        {
            ticket = default;
            if (!_current.ByNumber.ContainsKey(table.Number) || table.Deleting) return StoreStatus.TableNotFound;
            var copy = table.Definition.Clone();
            change(copy, () => _nextTableNumber++);
            table.Replace(copy);
            ticket = commit(copy);
            return StoreStatus.Ok;
        }
    }

    /// <summary>Drops a table from the catalog and commits the drop. <see cref="StoreStatus.TableNotFound"/> for a dropped table.</summary>
    internal StoreStatus Drop(TableState table, Func<uint, CommitTicket> commit, out CommitTicket ticket)
    {
        lock (_lock)
        {
            ticket = default;
            if (!_current.ByNumber.ContainsKey(table.Number) || table.Deleting) return StoreStatus.TableNotFound;
            table.Deleting = true;
            _purging.Add(table.Number);
            Publish(_current.ByName.Where(p => p.Value != table), _current.ByNumber.Where(p => p.Key != table.Number));
            ticket = commit(table.Number);
            return StoreStatus.Ok;
        }
    }

    /// <summary>Recovery: the catalog of a checkpoint's manifest, and the dropped tables whose purge it did not see end.</summary>
    internal void Load(IEnumerable<TableDefinition> tables, uint nextNumber, IEnumerable<uint>? purging = null)
    {
        lock (_lock)
        {
            _nextTableNumber = Math.Max(_nextTableNumber, nextNumber);
            foreach (var t in tables) AddLocked(t);
            foreach (var n in purging ?? []) _purging.Add(n);
        }
    }

    /// <summary>Dropped tables whose items are not all deleted yet (for the manifest: recovery purges them).</summary>
    internal List<uint> Purging()
    {
        lock (_lock) return [.. _purging];
    }

    /// <summary>A dropped table's items are all deleted.</summary>
    internal void Purged(uint tableNumber)
    {
        lock (_lock) _purging.Remove(tableNumber);
    }

    /// <summary>For a checkpoint, under the catalog lock (<see cref="SyncRoot"/>): the live tables.</summary>
    internal TableState[] AllLocked => _current.All;

    /// <summary>Recovery: a catalog record of the change log (an empty body drops the table).</summary>
    internal void Replay(uint tableNumber, ReadOnlySpan<byte> body)
    {
        lock (_lock)
        {
            if (body.IsEmpty)
            {
                if (_current.ByNumber.TryGetValue(tableNumber, out var dropped))
                {
                    _purging.Add(tableNumber);
                    Publish(_current.ByName.Where(p => p.Value != dropped), _current.ByNumber.Where(p => p.Key != tableNumber));
                }

                return;
            }

            var definition = JsonSerializer.Deserialize(body, StorageJsonContext.Default.TableDefinition)!;
            if (_current.ByNumber.TryGetValue(definition.TableNumber, out var existing)) existing.Replace(definition);
            else AddLocked(definition);
        }
    }

    private TableState AddLocked(TableDefinition definition)
    {
        var state = new TableState(definition);
        Publish(
            _current.ByName.Where(p => p.Key != definition.Name).Append(new(definition.Name, state)),
            _current.ByNumber.Where(p => p.Key != definition.TableNumber).Append(new(definition.TableNumber, state)));
        if (definition.TableNumber >= _nextTableNumber) _nextTableNumber = definition.TableNumber + 1;
        return state;
    }

    private void Publish(IEnumerable<KeyValuePair<string, TableState>> byName, IEnumerable<KeyValuePair<uint, TableState>> byNumber) =>
        Volatile.Write(ref _current, new Snapshot(byName.ToFrozenDictionary(StringComparer.Ordinal), byNumber.ToFrozenDictionary()));
}
