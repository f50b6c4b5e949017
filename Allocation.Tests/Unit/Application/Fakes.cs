using Allocation.Application;
using Allocation.Application.Allocations;
using Allocation.Application.Batches;
using Allocation.Application.Common;
using Allocation.Domain;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Allocation.Tests.Unit.Application;

internal sealed class FakeRepository : IProductRepository
{
    private readonly Dictionary<string, Product> _products = new(StringComparer.Ordinal);

    public static FakeRepository With(params Batch[] batches)
    {
        var repository = new FakeRepository();
        foreach (var group in batches.GroupBy(b => b.Sku))
        {
            repository.Add(new Product(group.Key, group));
        }

        return repository;
    }

    public Task<Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken) =>
        Task.FromResult(_products.GetValueOrDefault(sku));

    public void Add(Product product) => _products[product.Sku] = product;
}

internal sealed class FakeUnitOfWork(FakeRepository products) : IUnitOfWork
{
    public int Commits { get; private set; }

    public bool Disposed { get; private set; }

    public IProductRepository Products { get; } = products;

    public Task CommitAsync(CancellationToken cancellationToken)
    {
        Commits++;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}

/// <summary>Hands out units of work over one shared fake store and remembers them.</summary>
internal sealed class FakeUnitOfWorkFactory(FakeRepository repository) : IUnitOfWorkFactory
{
    public List<FakeUnitOfWork> Begun { get; } = [];

    public int Commits => Begun.Sum(u => u.Commits);

    public Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken)
    {
        var uow = new FakeUnitOfWork(repository);
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
