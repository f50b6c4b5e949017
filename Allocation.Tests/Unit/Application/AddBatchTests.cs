using Allocation.Application;
using Allocation.Application.Batches;
using Allocation.Domain;

namespace Allocation.Tests.Unit.Application;

public class AddBatchTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task Adding_the_first_batch_of_a_sku_creates_its_product()
    {
        var store = new FakeStore();
        var uows = new FakeUnitOfWorkFactory(store);

        var view = await Services.Batches(uows).AddBatchAsync("b1", "CRUNCHY-ARMCHAIR", 100, null, None);

        view.Should().Be(new BatchView("b1", "CRUNCHY-ARMCHAIR", 100, null, 0));
        store.Load("CRUNCHY-ARMCHAIR", null)!.Batches.Should().ContainSingle(b => b.Reference == "b1");
        uows.Commits.Should().Be(1);
    }

    [Test]
    public async Task Adding_a_batch_to_an_existing_sku_keeps_its_other_batches()
    {
        var store = FakeStore.With(new Batch("b1", "GARISH-RUG", 100, eta: null));
        var uows = new FakeUnitOfWorkFactory(store);

        await Services.Batches(uows).AddBatchAsync("b2", "GARISH-RUG", 99, new DateOnly(2026, 12, 24), None);

        store.Load("GARISH-RUG", null)!.Batches.Select(b => b.Reference).Should().Equal("b1", "b2");
    }

    [Test]
    public async Task Adding_a_duplicate_reference_commits_nothing()
    {
        var uows = new FakeUnitOfWorkFactory(FakeStore.With(new Batch("b1", "GARISH-RUG", 100, eta: null)));

        var act = () => Services.Batches(uows).AddBatchAsync("b1", "GARISH-RUG", 5, null, None);

        await act.Should().ThrowAsync<DuplicateBatch>();
        uows.Commits.Should().Be(0);
    }

    [Test]
    public async Task Reading_an_unknown_batch_is_not_found()
    {
        var act = () => Services.Batches(new FakeUnitOfWorkFactory(new FakeStore())).GetBatchAsync("nope", None);

        await act.Should().ThrowAsync<BatchNotFound>().WithMessage("Batch nope not found");
    }

}
