using Allocation.Application;
using Allocation.Domain;

namespace Allocation.Tests.Unit.Application;

/// <summary>The fakes keep the real store's contract, so that unit tests over them mean something.</summary>
public class FakeStoreTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task Changes_are_invisible_to_other_units_of_work_until_committed_and_gone_if_never_committed()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);

        await using (var forgetful = await uows.BeginAsync(None))
        {
            (await forgetful.Products.GetAsync("LAMP", "o1", None))!.Allocate(new OrderLine("o1", "LAMP", 4));
            await using var other = await uows.BeginAsync(None);
            (await other.Products.GetAsync("LAMP", null, None))!.Batches[0].AllocatedQuantity.Should().Be(0, "not committed yet");
        }

        store.Load("LAMP", "o1")!.Batches[0].AllocatedQuantity.Should().Be(0, "never committed");

        await using var committing = await uows.BeginAsync(None);
        (await committing.Products.GetAsync("LAMP", "o1", None))!.Allocate(new OrderLine("o1", "LAMP", 4));
        await committing.CommitAsync(None);
        store.Load("LAMP", "o1")!.Batches[0].AllocatedQuantity.Should().Be(4);
    }

    [Test]
    public async Task A_product_is_loaded_with_only_the_asked_for_orders_line()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        await Services.Allocations(new FakeUnitOfWorkFactory(store)).AllocateAsync("o1", "LAMP", 3, None);

        store.Load("LAMP", "o1")!.Batches[0].Allocations.Should().ContainSingle();
        store.Load("LAMP", "o2")!.Batches[0].Allocations.Should().BeEmpty();
        store.Load("LAMP", null)!.Batches[0].AllocatedQuantity.Should().Be(3, "the running total is always there");
    }

    [Test]
    public async Task A_stale_version_is_a_conflict_and_an_order_holds_a_sku_once_even_for_a_product_that_lies_about_its_scope()
    {
        var store = FakeStore.With(new Batch("b1", "LAMP", 10, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);
        await using var first = await uows.BeginAsync(None);
        await using var second = await uows.BeginAsync(None);
        (await first.Products.GetAsync("LAMP", "o1", None))!.Allocate(new OrderLine("o1", "LAMP", 1));
        (await second.Products.GetAsync("LAMP", "o2", None))!.Allocate(new OrderLine("o2", "LAMP", 1));
        await first.CommitAsync(None);

        var stale = () => second.CommitAsync(None);
        await stale.Should().ThrowAsync<ConcurrencyConflict>();

        // A product that claims to know every line although it was read without o1's: the store still refuses.
        var committed = store.Load("LAMP", "o2")!;
        var blind = new Product("LAMP", [Batch.Restore("b1", "LAMP", 10, null, committed.Batches[0].AllocatedQuantity, [])], committed.LoadedVersionNumber);
        blind.Allocate(new OrderLine("o1", "LAMP", 1));
        var duplicate = () => store.Commit([], [blind]);
        duplicate.Should().Throw<InvalidOperationException>().WithMessage("*wrong scope*");
    }
}
