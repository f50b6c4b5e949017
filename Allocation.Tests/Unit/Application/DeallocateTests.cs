using Allocation.Domain;

namespace Allocation.Tests.Unit.Application;

public class DeallocateTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task Deallocating_returns_the_batch_and_frees_the_stock_for_another_order()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);
        var service = Services.Allocations(uows);
        await service.AllocateAsync("o1", "LAMP", 10, None);

        (await service.DeallocateAsync("o1", "LAMP", None)).Should().Be("b1");

        (await service.AllocateAsync("o2", "LAMP", 10, None)).Should().Be("b1");
        uows.Commits.Should().Be(3);
    }

    [Test]
    public async Task Deallocating_an_order_without_that_sku_is_not_allocated_and_commits_nothing()
    {
        var uows = new FakeUnitOfWorkFactory(FakeStore.With(new Batch("b1", "LAMP", 10, eta: null)));

        var act = () => Services.Allocations(uows).DeallocateAsync("o1", "LAMP", None);

        await act.Should().ThrowAsync<LineNotAllocated>();
        uows.Commits.Should().Be(0);
    }

    [Test]
    public async Task Deallocating_an_unknown_sku_is_not_allocated()
    {
        var uows = new FakeUnitOfWorkFactory(new FakeStore());

        var act = () => Services.Allocations(uows).DeallocateAsync("o1", "GHOST", None);

        await act.Should().ThrowAsync<LineNotAllocated>().WithMessage("Order o1 has no allocation for sku GHOST");
    }
}
