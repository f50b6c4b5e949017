using Allocation.Application;
using Allocation.Application.Allocations;
using Allocation.Application.Batches;
using Allocation.Application.Common;
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

    /// <summary>The committed product, as the real repository loads it; null when the SKU has no product.</summary>
    public Product? Load(string sku, string? orderId)
    {
        lock (this)
        {
            if (!_versions.TryGetValue(sku, out var version))
            {
                return null;
            }

            var batches = _batches.Where(b => b.Sku == sku).Select(b => Batch.Restore(
                b.Reference, sku, b.PurchasedQuantity, b.Eta, b.Allocated,
                _lines.Where(l => l.OrderId == orderId && l.Sku == sku && l.BatchReference == b.Reference)
                    .Select(l => new OrderLine(l.OrderId, sku, l.Quantity))));
            return new Product(sku, batches, version);
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

            foreach (var product in loaded.Where(p => p.Changes.Count > 0 && _versions[p.Sku] != p.LoadedVersionNumber))
            {
                throw new ConcurrencyConflict($"Product {product.Sku} changed after version {product.LoadedVersionNumber} was read.");
            }

            foreach (var product in added.Concat(loaded))
            {
                foreach (var change in product.Changes)
                {
                    Apply(change);
                }

                _versions[product.Sku] = product.VersionNumber;
            }
        }
    }

    private void Apply(ProductChange change)
    {
        switch (change)
        {
            case BatchAdded(var batch):
                if (_batches.Any(b => b.Reference == batch.Reference))
                {
                    throw new DuplicateBatch(batch.Reference);
                }

                _batches.Add(new BatchRow(batch.Reference, batch.Sku, batch.PurchasedQuantity, batch.Eta));
                break;
            case LineAllocated(var line, var batchReference):
                if (_lines.Any(l => l.OrderId == line.OrderId && l.Sku == line.Sku))
                {
                    throw new InvalidOperationException(
                        $"Unique violation: order {line.OrderId} already holds sku {line.Sku} (the use case loaded the wrong scope).");
                }

                _lines.Add(new LineRow(line.OrderId, line.Sku, line.Quantity, batchReference));
                _batches.Single(b => b.Reference == batchReference).Allocated += line.Quantity;
                break;
            case LineDeallocated(var line, var batchReference):
                _lines.RemoveAll(l => l.OrderId == line.OrderId && l.Sku == line.Sku);
                _batches.Single(b => b.Reference == batchReference).Allocated -= line.Quantity;
                break;
            default:
                throw new InvalidOperationException($"The fake store cannot apply {change.GetType().Name}.");
        }
    }

    private sealed record BatchRow(string Reference, string Sku, int PurchasedQuantity, DateOnly? Eta)
    {
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

    public void Add(Product product) => Added.Add(product);
}

internal sealed class FakeUnitOfWork(FakeStore store) : IUnitOfWork
{
    private readonly FakeRepository _products = new(store);

    public int Commits { get; private set; }

    public bool Disposed { get; private set; }

    public IProductRepository Products => _products;

    public Task CommitAsync(CancellationToken cancellationToken)
    {
        store.Commit(_products.Added, _products.Loaded);
        Commits++;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
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
    public static ConflictRetry Retry(int maxAttempts = 5, TimeSpan? baseDelay = null, TimeSpan? budget = null)
    {
        var options = Options.Create(new ConflictRetryOptions
        {
            MaxAttempts = maxAttempts,
            BaseDelay = baseDelay ?? TimeSpan.Zero,
            MaxDelay = baseDelay ?? TimeSpan.Zero,
            Budget = budget ?? TimeSpan.FromSeconds(5),
        });
        return new ConflictRetry(options, new SkuWriteGate(options), NullLogger<ConflictRetry>.Instance);
    }

    public static AllocationService Allocations(IUnitOfWorkFactory uows, IAllocationReadModel? reads = null, ConflictRetry? retry = null) =>
        new(uows, reads ?? new FakeReadModel(), retry ?? Retry());

    public static BatchService Batches(IUnitOfWorkFactory uows, IAllocationReadModel? reads = null) =>
        new(uows, reads ?? new FakeReadModel(), Retry());
}
