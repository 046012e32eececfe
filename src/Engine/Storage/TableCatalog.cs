using System.Collections.Frozen;
using System.Text.Json;
using Serverless.Engine.Protocol;

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

    private sealed class Snapshot(FrozenDictionary<string, TableState> byName, FrozenDictionary<uint, TableState> byNumber)
    {
        public static readonly Snapshot Empty = new(FrozenDictionary<string, TableState>.Empty, FrozenDictionary<uint, TableState>.Empty);

        public readonly FrozenDictionary<string, TableState> ByName = byName;
        public readonly FrozenDictionary<uint, TableState> ByNumber = byNumber;
        public readonly TableState[] All = [.. byName.Values];
    }

    /// <summary>The lock under which the catalog changes; also orders catalog records with the numbers they draw.</summary>
    internal object SyncRoot => _lock;

    /// <summary>The number the next table or index will get.</summary>
    public uint NextTableNumber
    {
        get
        {
            lock (_lock) return _nextTableNumber;
        }
    }

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

    /// <summary>Creates a table; <paramref name="build"/> draws numbers from the sequence. Throws ResourceInUse if the name is taken.</summary>
    internal TableState Create(string name, Func<Func<uint>, TableDefinition> build, Func<TableDefinition, CommitTicket> commit, out CommitTicket ticket)
    {
        lock (_lock)
        {
            if (_current.ByName.ContainsKey(name)) throw DynamoErrors.ResourceInUse($"Table already exists: {name}");
            var definition = build(() => _nextTableNumber++);
            var state = AddLocked(definition);
            ticket = commit(definition);
            return state;
        }
    }

    /// <summary>Applies a change to a copy of the definition and commits it. Throws ResourceNotFound for a dropped table.</summary>
    internal void Update(TableState table, Action<TableDefinition, Func<uint>> change, Func<TableDefinition, CommitTicket> commit, out CommitTicket ticket)
    {
        lock (_lock)
        {
            if (!_current.ByNumber.ContainsKey(table.Number) || table.Deleting) throw DynamoErrors.TableNotFound();
            var copy = table.Definition.Clone();
            change(copy, () => _nextTableNumber++);
            table.Replace(copy);
            ticket = commit(copy);
        }
    }

    /// <summary>Drops a table from the catalog and commits the drop. Throws ResourceNotFound for a dropped table.</summary>
    internal void Drop(TableState table, Func<uint, CommitTicket> commit, out CommitTicket ticket)
    {
        lock (_lock)
        {
            if (!_current.ByNumber.ContainsKey(table.Number) || table.Deleting) throw DynamoErrors.TableNotFound();
            table.Deleting = true;
            Publish(_current.ByName.Where(p => p.Value != table), _current.ByNumber.Where(p => p.Key != table.Number));
            ticket = commit(table.Number);
        }
    }

    /// <summary>Recovery: the catalog of a checkpoint's manifest.</summary>
    internal void Load(IEnumerable<TableDefinition> tables, uint nextNumber)
    {
        lock (_lock)
        {
            _nextTableNumber = Math.Max(_nextTableNumber, nextNumber);
            foreach (var t in tables) AddLocked(t);
        }
    }

    /// <summary>Recovery: a catalog record of the change log (an empty body drops the table).</summary>
    internal void Replay(uint tableNumber, ReadOnlySpan<byte> body)
    {
        lock (_lock)
        {
            if (body.IsEmpty)
            {
                if (_current.ByNumber.TryGetValue(tableNumber, out var dropped))
                    Publish(_current.ByName.Where(p => p.Value != dropped), _current.ByNumber.Where(p => p.Key != tableNumber));
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
