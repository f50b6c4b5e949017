using Allocation.Application;
using Allocation.Application.Allocations;
using Allocation.Application.Batches;
using Allocation.Application.Common;
using Allocation.Application.Idempotency;
using Allocation.Application.Orders;
using Allocation.Domain;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Allocation.Tests.Unit.Application;

/// <summary>
/// What the fakes have committed, kept as rows the way the real store keeps them, so that the fakes
/// honour the same contract: a unit of work sees only what was committed before it began, its
/// changes are invisible until it commits and gone if it does not, a product is loaded with only
/// the asked-for order's lines, a stale version is a conflict, and an order holds a SKU once.
/// </summary>
internal sealed class FakeStore
{
    private readonly Dictionary<string, int> _versions = new(StringComparer.Ordinal);
    private readonly List<BatchRow> _batches = [];
    private readonly List<LineRow> _lines = [];

    public static FakeStore With(params Batch[] batches)
    {
        var store = new FakeStore();
        foreach (var batch in batches)
        {
            store._versions.TryAdd(batch.Sku, 0);
            store._batches.Add(new BatchRow(batch.Reference, batch.Sku, batch.PurchasedQuantity, batch.Eta));
        }

        return store;
    }

    /// <summary>Every event committed, oldest first, as the outbox would hold them.</summary>
    public List<ProductEvent> CommittedEvents { get; } = [];

    /// <summary>Idempotency keys committed, with their fingerprint and answer.</summary>
    public Dictionary<(string Caller, string Key), StoredAnswer> CommittedKeys { get; } = [];

    /// <summary>Keys held by a unit of work that has not ended, as the advisory lock holds them.</summary>
    private readonly HashSet<(string Caller, string Key)> _heldKeys = [];

    public StoredAnswer? ClaimKey(string caller, string key)
    {
        lock (this)
        {
            if (!_heldKeys.Add((caller, key)))
            {
                throw new IdempotencyKeyInUse(key);
            }

            return CommittedKeys.GetValueOrDefault((caller, key));
        }
    }

    public void ReleaseKey(string caller, string key)
    {
        lock (this)
        {
            _heldKeys.Remove((caller, key));
        }
    }

    public void CommitKey(string caller, string key, StoredAnswer answer)
    {
        lock (this)
        {
            CommittedKeys[(caller, key)] = answer;
        }
    }

    /// <summary>The committed product, as the real repository loads it; null when the SKU has no product.</summary>
    public Product? Load(string sku, string? orderId) =>
        Load(sku, orderId is null ? ProductScope.TotalsOnly : ProductScope.ForOrder(orderId), l => l.OrderId == orderId);

    /// <summary>The committed product with every line of one batch, oldest allocation first.</summary>
    public Product? LoadForBatch(string sku, string batchReference) =>
        Load(sku, ProductScope.ForBatch(batchReference), l => l.BatchReference == batchReference);

    /// <summary>The order's committed lines, as the read model reads them.</summary>
    public IReadOnlyList<OrderAllocation> ReadAllocations(string orderId)
    {
        lock (this)
        {
            return [.. _lines.Where(l => l.OrderId == orderId).Select(l => new OrderAllocation(l.Sku, l.BatchReference))];
        }
    }

    /// <summary>The committed batch, as the read model reads it.</summary>
    public BatchView? ReadBatch(string reference)
    {
        lock (this)
        {
            return _batches.Where(b => b.Reference == reference)
                .Select(b => new BatchView(b.Reference, b.Sku, b.PurchasedQuantity, b.Eta, b.Allocated))
                .SingleOrDefault();
        }
    }

    private Product? Load(string sku, ProductScope scope, Func<LineRow, bool> loaded)
    {
        lock (this)
        {
            if (!_versions.TryGetValue(sku, out var version))
            {
                return null;
            }

            var batches = _batches.Where(b => b.Sku == sku).Select(b => Batch.Restore(
                b.Reference, sku, b.PurchasedQuantity, b.Eta, b.Allocated,
                _lines.Where(l => l.Sku == sku && l.BatchReference == b.Reference && loaded(l))
                    .Select(l => new OrderLine(l.OrderId, sku, l.Quantity))));
            return new Product(sku, batches, version, scope);
        }
    }

    /// <summary>All of a unit of work's changes, or none: checks every version first, as the real commit's transaction does.</summary>
    public void Commit(IReadOnlyList<Product> added, IReadOnlyList<Product> loaded)
    {
        lock (this)
        {
            foreach (var product in added.Where(p => _versions.ContainsKey(p.Sku)))
            {
                throw new ConcurrencyConflict($"Product {product.Sku} was created by a concurrent writer.");
            }

            foreach (var product in loaded.Where(p => p.Events.Count > 0 && _versions[p.Sku] != p.LoadedVersionNumber))
            {
                throw new ConcurrencyConflict($"Product {product.Sku} changed after version {product.LoadedVersionNumber} was read.");
            }

            var (batches, lines) = (_batches.Select(b => b with { }).ToList(), _lines.ToList());
            try
            {
                foreach (var product in added.Concat(loaded))
                {
                    foreach (var change in product.Events)
                    {
                        Apply(change);
                    }
                }

                RefuseOversold();
            }
            catch
            {
                // Rolled back: nothing of a failed commit stays.
                _batches.Clear();
                _batches.AddRange(batches);
                _lines.Clear();
                _lines.AddRange(lines);
                throw;
            }

            foreach (var product in added.Concat(loaded))
            {
                CommittedEvents.AddRange(product.Events);
                _versions[product.Sku] = product.VersionNumber;
            }
        }
    }

    private void Apply(ProductEvent change)
    {
        switch (change)
        {
            case BatchCreated created:
                if (_batches.Any(b => b.Reference == created.Reference))
                {
                    throw new DuplicateBatch(created.Reference);
                }

                _batches.Add(new BatchRow(created.Reference, created.Sku, created.Quantity, created.Eta));
                break;
            case BatchChanged changed:
                var batch = _batches.Single(b => b.Reference == changed.Reference);
                batch.PurchasedQuantity = changed.QuantityAfter;
                batch.Eta = changed.EtaAfter;
                break;
            case LineAllocated(var line, var batchReference):
                if (_lines.Any(l => l.OrderId == line.OrderId && l.Sku == line.Sku))
                {
                    throw new InvalidOperationException(
                        $"Unique violation: order {line.OrderId} already holds sku {line.Sku} (the use case loaded the wrong scope).");
                }

                _lines.Add(new LineRow(line.OrderId, line.Sku, line.Quantity, batchReference));
                Take(batchReference, line.Quantity);
                break;
            case LineDeallocated(var line, var batchReference, _):
                _lines.RemoveAll(l => l.OrderId == line.OrderId && l.Sku == line.Sku);
                Take(batchReference, -line.Quantity);
                break;
            case LineReallocated(var line, var from, var to):
                var index = _lines.FindIndex(l => l.OrderId == line.OrderId && l.Sku == line.Sku && l.BatchReference == from);
                // A moved line keeps its place in allocation order, as the real store's line id does.
                _lines[index] = _lines[index] with { BatchReference = to };
                Take(from, -line.Quantity);
                Take(to, line.Quantity);
                break;
            case StockRanOut or OrderEvent:
                break;
            default:
                throw new InvalidOperationException($"The fake store cannot apply {change.GetType().Name}.");
        }
    }

    private void Take(string batchReference, int quantity) =>
        _batches.Single(b => b.Reference == batchReference).Allocated += quantity;

    /// <summary>The database's oversell check, applied to what a commit leaves (the real store orders its statements so that it holds after each).</summary>
    private void RefuseOversold()
    {
        if (_batches.FirstOrDefault(b => b.Allocated < 0 || b.Allocated > b.PurchasedQuantity) is { } oversold)
        {
            throw new InvalidOperationException($"Check violation: batch {oversold.Reference} would be oversold.");
        }
    }

    private sealed record BatchRow(string Reference, string Sku, int Purchased, DateOnly? ArrivesOn)
    {
        public int PurchasedQuantity { get; set; } = Purchased;

        public DateOnly? Eta { get; set; } = ArrivesOn;

        public int Allocated { get; set; }
    }

    private sealed record LineRow(string OrderId, string Sku, int Quantity, string BatchReference);
}

/// <summary>One unit of work's view of the fake store: its own copies of what it loads, written back on commit.</summary>
internal sealed class FakeRepository(FakeStore store) : IProductRepository
{
    public List<Product> Loaded { get; } = [];

    public List<Product> Added { get; } = [];

    public Task<Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken)
    {
        var product = Added.FirstOrDefault(p => p.Sku == sku) ?? store.Load(sku, orderId);
        if (product is not null && !Added.Contains(product))
        {
            Loaded.Add(product);
        }

        return Task.FromResult(product);
    }

    public Task<Product?> GetForBatchAsync(string sku, string batchReference, CancellationToken cancellationToken)
    {
        var product = store.LoadForBatch(sku, batchReference);
        if (product is not null)
        {
            Loaded.Add(product);
        }

        return Task.FromResult(product?.Batches.Any(b => b.Reference == batchReference) == true ? product : null);
    }

    public void Add(Product product) => Added.Add(product);
}

internal sealed class FakeUnitOfWork(FakeStore store) : IUnitOfWork, IIdempotencyRecords
{
    private readonly FakeRepository _products = new(store);
    private readonly List<(string Caller, string Key)> _held = [];
    private (string Caller, string Key, StoredAnswer Answer)? _pendingKey;

    public int Commits { get; private set; }

    public bool Disposed { get; private set; }

    public IProductRepository Products => _products;

    public IIdempotencyRecords Idempotency => this;

    /// <summary>Whether the use case asked for its commit to wait for the standby (a repeat after a cut-off commit).</summary>
    public bool ConfirmedEarlierWrites { get; private set; }

    public void ConfirmEarlierWrites() => ConfirmedEarlierWrites = true;

    public Task CommitAsync(CancellationToken cancellationToken)
    {
        store.Commit(_products.Added, _products.Loaded);
        if (_pendingKey is { } key)
        {
            store.CommitKey(key.Caller, key.Key, key.Answer);
        }

        Commits++;
        return Task.CompletedTask;
    }

    public Task<StoredAnswer?> ClaimAsync(string caller, string key, CancellationToken cancellationToken)
    {
        var stored = store.ClaimKey(caller, key);
        _held.Add((caller, key));
        return Task.FromResult(stored);
    }

    public void Record(string caller, string key, ReadOnlyMemory<byte> fingerprint, string answer) =>
        _pendingKey = (caller, key, new StoredAnswer(fingerprint.ToArray(), answer));

    public ValueTask DisposeAsync()
    {
        // The transaction ends: its advisory locks go with it.
        foreach (var (caller, key) in _held)
        {
            store.ReleaseKey(caller, key);
        }

        _held.Clear();
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}

/// <summary>Hands out units of work over one fake store and remembers them.</summary>
internal sealed class FakeUnitOfWorkFactory(FakeStore store) : IUnitOfWorkFactory
{
    public List<FakeUnitOfWork> Begun { get; } = [];

    public int Commits => Begun.Sum(u => u.Commits);

    public Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken)
    {
        var uow = new FakeUnitOfWork(store);
        Begun.Add(uow);
        return Task.FromResult<IUnitOfWork>(uow);
    }
}

/// <summary>Reads what the fake store has committed, as the real read model reads the database.</summary>
internal sealed class FakeStoreReadModel(FakeStore store) : IAllocationReadModel
{
    public Task<IReadOnlyList<OrderAllocation>> GetAllocationsAsync(string orderId, CancellationToken cancellationToken) =>
        Task.FromResult(store.ReadAllocations(orderId));

    public Task<BatchView?> GetBatchAsync(string reference, CancellationToken cancellationToken) =>
        Task.FromResult(store.ReadBatch(reference));
}

internal sealed class FakeReadModel : IAllocationReadModel
{
    public List<(string OrderId, OrderAllocation Allocation)> Allocations { get; } = [];

    public List<BatchView> Batches { get; } = [];

    public Task<IReadOnlyList<OrderAllocation>> GetAllocationsAsync(string orderId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<OrderAllocation>>(
            Allocations.Where(a => a.OrderId == orderId).Select(a => a.Allocation).ToList());

    public Task<BatchView?> GetBatchAsync(string reference, CancellationToken cancellationToken) =>
        Task.FromResult(Batches.FirstOrDefault(b => b.Reference == reference));
}

internal static class Services
{
    public static ConflictRetry Retry(
        int maxAttempts = 5, TimeSpan? baseDelay = null, TimeSpan? budget = null, TimeSpan? failoverWait = null)
    {
        var options = Options.Create(new ConflictRetryOptions
        {
            MaxAttempts = maxAttempts,
            BaseDelay = baseDelay ?? TimeSpan.Zero,
            MaxDelay = baseDelay ?? TimeSpan.Zero,
            Budget = budget ?? TimeSpan.FromSeconds(5),
            FailoverWait = failoverWait ?? TimeSpan.FromSeconds(7),
            FailoverFirstDelay = TimeSpan.FromMilliseconds(5),
            FailoverMaxDelay = TimeSpan.FromMilliseconds(40),
        });
        return new ConflictRetry(options, new SkuWriteGate(options), NullLogger<ConflictRetry>.Instance);
    }

    public static AllocationService Allocations(
        IUnitOfWorkFactory uows, IAllocationReadModel? reads = null, ConflictRetry? retry = null, IdempotentRequest? request = null)
    {
        retry ??= Retry();
        return new(new ProductWrites(uows, retry, request ?? new IdempotentRequest()), reads ?? new FakeReadModel(), retry);
    }

    public static OrderAllocationService Orders(IUnitOfWorkFactory uows, FakeStore store, IdempotentRequest? request = null)
    {
        var retry = Retry();
        return new(new ProductWrites(uows, retry, request ?? new IdempotentRequest()), new FakeStoreReadModel(store), retry);
    }

    public static BatchService Batches(IUnitOfWorkFactory uows, IAllocationReadModel? reads = null, IdempotentRequest? request = null)
    {
        var retry = Retry();
        return new(new ProductWrites(uows, retry, request ?? new IdempotentRequest()), reads ?? new FakeReadModel(), retry);
    }
}
