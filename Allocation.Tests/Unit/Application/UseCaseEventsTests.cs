using Allocation.Domain;

namespace Allocation.Tests.Unit.Application;

/// <summary>What each use case commits for other services to hear, and that a repeat commits nothing.</summary>
public class UseCaseEventsTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task Adding_a_batch_commits_batch_created()
    {
        var store = new FakeStore();

        await Services.Batches(new FakeUnitOfWorkFactory(store)).AddBatchAsync("b1", "LAMP", 10, new DateOnly(2027, 1, 1), None);

        store.CommittedEvents.Should().Equal(new BatchCreated("b1", "LAMP", 10, new DateOnly(2027, 1, 1)));
    }

    [Test]
    public async Task Allocating_commits_line_allocated_once_however_often_it_is_repeated()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var allocations = Services.Allocations(new FakeUnitOfWorkFactory(store));

        await allocations.AllocateAsync("o1", "LAMP", 2, None);
        await allocations.AllocateAsync("o1", "LAMP", 2, None);
        await allocations.AllocateAsync("o1", "LAMP", 2, None);

        store.CommittedEvents.Should().Equal(new LineAllocated(new OrderLine("o1", "LAMP", 2), "b1"));
    }

    [Test]
    public async Task Deallocating_commits_line_deallocated_as_requested()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var allocations = Services.Allocations(new FakeUnitOfWorkFactory(store));
        await allocations.AllocateAsync("o1", "LAMP", 2, None);

        await allocations.DeallocateAsync("o1", "LAMP", None);

        store.CommittedEvents[^1].Should().Be(new LineDeallocated(new OrderLine("o1", "LAMP", 2), "b1", DeallocationReason.Requested));
    }

    [Test]
    public async Task A_refused_request_that_changes_nothing_commits_nothing()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var allocations = Services.Allocations(new FakeUnitOfWorkFactory(store));
        await allocations.AllocateAsync("o1", "LAMP", 2, None);
        store.CommittedEvents.Clear();

        var otherQuantity = () => allocations.AllocateAsync("o1", "LAMP", 3, None);
        var nothingToGiveBack = () => allocations.DeallocateAsync("o2", "LAMP", None);
        var duplicate = () => Services.Batches(new FakeUnitOfWorkFactory(store)).AddBatchAsync("b1", "LAMP", 1, null, None);

        await otherQuantity.Should().ThrowAsync<ConflictingOrderLine>();
        await nothingToGiveBack.Should().ThrowAsync<LineNotAllocated>();
        await duplicate.Should().ThrowAsync<DuplicateBatch>();
        store.CommittedEvents.Should().BeEmpty();
    }
}
