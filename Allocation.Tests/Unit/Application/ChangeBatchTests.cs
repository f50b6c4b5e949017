using Allocation.Application;
using Allocation.Application.Batches;
using Allocation.Domain;

namespace Allocation.Tests.Unit.Application;

public class ChangeBatchTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<FakeStore> StoreWithLinesAsync()
    {
        var store = FakeStore.With(new Batch("b1", "SOFA", 10, eta: null), new Batch("b2", "SOFA", 4, eta: new DateOnly(2026, 12, 24)));
        var allocations = Services.Allocations(new FakeUnitOfWorkFactory(store));
        await allocations.AllocateAsync("o1", "SOFA", 5, None);
        await allocations.AllocateAsync("o2", "SOFA", 3, None);
        await allocations.AllocateAsync("o3", "SOFA", 2, None);
        store.CommittedEvents.Clear();
        return store;
    }

    private static BatchService Batches(FakeStore store, IUnitOfWorkFactory uows) =>
        Services.Batches(uows, new FakeStoreReadModel(store));

    [Test]
    public async Task Reducing_a_batch_commits_the_moves_and_the_new_quantity_together()
    {
        var store = await StoreWithLinesAsync();
        var uows = new FakeUnitOfWorkFactory(store);

        var result = await Batches(store, uows).ChangeBatchAsync("b1", 6, EtaChange.Keep, None);

        result.Batch.Should().Be(new BatchView("b1", "SOFA", 6, null, 5));
        result.Reallocated.Should().Equal(new LineReallocated(new OrderLine("o2", "SOFA", 3), "b1", "b2"));
        result.Unallocated.Should().Equal(new OrderLine("o3", "SOFA", 2));
        uows.Commits.Should().Be(1);
        store.ReadBatch("b1").Should().Be(new BatchView("b1", "SOFA", 6, null, 5));
        store.ReadBatch("b2")!.AllocatedQuantity.Should().Be(3);
        store.Load("SOFA", "o3")!.Batches.SelectMany(b => b.Allocations).Should().BeEmpty("o3 is no longer allocated");
        store.CommittedEvents.Should().Equal(
            new BatchChanged("b1", "SOFA", 10, 6, null, null),
            new LineReallocated(new OrderLine("o2", "SOFA", 3), "b1", "b2"),
            new LineDeallocated(new OrderLine("o3", "SOFA", 2), "b1", DeallocationReason.BatchReduced),
            new StockRanOut(new OrderLine("o3", "SOFA", 2)));
    }

    [Test]
    public async Task Repeating_a_change_that_is_already_so_records_nothing_and_answers_the_batch()
    {
        var store = await StoreWithLinesAsync();
        var service = Batches(store, new FakeUnitOfWorkFactory(store));
        await service.ChangeBatchAsync("b2", 8, EtaChange.Keep, None);
        store.CommittedEvents.Clear();

        var again = await service.ChangeBatchAsync("b2", 8, EtaChange.Keep, None);

        again.Batch.PurchasedQuantity.Should().Be(8);
        again.Reallocated.Should().BeEmpty();
        store.CommittedEvents.Should().BeEmpty();
    }

    [Test]
    public async Task An_unknown_batch_is_not_found_and_nothing_is_begun()
    {
        var store = await StoreWithLinesAsync();
        var uows = new FakeUnitOfWorkFactory(store);

        var act = () => Batches(store, uows).ChangeBatchAsync("nope", 1, EtaChange.Keep, None);

        await act.Should().ThrowAsync<BatchNotFound>().WithMessage("Batch nope not found");
        uows.Begun.Should().BeEmpty();
    }

    [Test]
    public async Task A_change_that_lost_a_race_is_made_again_on_what_the_winner_committed()
    {
        var store = await StoreWithLinesAsync();
        var uows = new RacingUnitOfWorkFactory(store, () =>
            Services.Allocations(new FakeUnitOfWorkFactory(store)).AllocateAsync("o4", "SOFA", 2, None).GetAwaiter().GetResult());

        var result = await Batches(store, uows).ChangeBatchAsync("b2", 1, EtaChange.Keep, None);

        // o4 went to b2 in between (b1 was full): the retry sees it and moves it on.
        uows.Inner.Begun.Should().HaveCount(2);
        result.Unallocated.Should().Equal(new OrderLine("o4", "SOFA", 2));
        store.ReadBatch("b2")!.AllocatedQuantity.Should().Be(0);
    }

    /// <summary>Lets another writer commit once, right after the first unit of work has loaded.</summary>
    private sealed class RacingUnitOfWorkFactory(FakeStore store, Action interloper) : IUnitOfWorkFactory
    {
        private Action? _interloper = interloper;

        public FakeUnitOfWorkFactory Inner { get; } = new(store);

        public async Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken)
        {
            var uow = await Inner.BeginAsync(cancellationToken);
            return new Interrupted(uow, Interlocked.Exchange(ref _interloper, null));
        }

        private sealed class Interrupted(IUnitOfWork inner, Action? interloper) : IUnitOfWork, IProductRepository
        {
            public IProductRepository Products => this;

            public Allocation.Application.Idempotency.IIdempotencyRecords Idempotency => inner.Idempotency;

            public Task<Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken) =>
                inner.Products.GetAsync(sku, orderId, cancellationToken);

            // The interloper commits right after the change's first load. (The real store's row lock makes
            // such a race impossible; the fake has none, so this proves the retry on what the winner committed.)
            public async Task<Product?> GetForChangeAsync(string sku, CancellationToken cancellationToken)
            {
                var product = await inner.Products.GetForChangeAsync(sku, cancellationToken);
                interloper?.Invoke();
                interloper = null;
                return product;
            }

            public async Task<Product?> GetForBatchAsync(string sku, string batchReference, CancellationToken cancellationToken)
            {
                var product = await inner.Products.GetForBatchAsync(sku, batchReference, cancellationToken);
                interloper?.Invoke();
                interloper = null;
                return product;
            }

            public void Add(Product product) => inner.Products.Add(product);

            public Task CommitAsync(CancellationToken cancellationToken) => inner.CommitAsync(cancellationToken);

            public void ConfirmEarlierWrites() => inner.ConfirmEarlierWrites();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
