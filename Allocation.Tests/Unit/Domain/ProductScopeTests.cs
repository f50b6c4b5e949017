using Allocation.Domain;

namespace Allocation.Tests.Unit.Domain;

/// <summary>A product refuses to decide about lines it was not loaded with.</summary>
public class ProductScopeTests
{
    private static Product LoadedFor(ProductScope scope) =>
        new("LAMP", [Batch.Restore("b1", "LAMP", 10, null, allocatedQuantity: 4, knownAllocations: [])], 5, scope);

    [Test]
    public void Allocating_for_an_order_it_was_not_loaded_with_is_refused()
    {
        var product = LoadedFor(ProductScope.ForOrder("o1"));

        var act = () => product.Allocate(new OrderLine("o2", "LAMP", 1));

        act.Should().Throw<OutsideLoadedScope>().WithMessage("Product LAMP was loaded with the lines of order o1, so it cannot decide about the lines of order o2.");
        product.Events.Should().BeEmpty();
    }

    [Test]
    public void Allocating_or_deallocating_with_no_lines_loaded_is_refused()
    {
        var product = LoadedFor(ProductScope.TotalsOnly);

        var allocate = () => product.Allocate(new OrderLine("o1", "LAMP", 1));
        var deallocate = () => product.Deallocate("o1");

        allocate.Should().Throw<OutsideLoadedScope>();
        deallocate.Should().Throw<OutsideLoadedScope>();
        product.Batches[0].AllocatedQuantity.Should().Be(4);
    }

    [Test]
    public void Allocating_for_a_batch_scope_is_refused_because_the_order_line_may_be_elsewhere()
    {
        var product = LoadedFor(ProductScope.ForBatch("b1"));

        var act = () => product.Allocate(new OrderLine("o1", "LAMP", 1));

        act.Should().Throw<OutsideLoadedScope>();
    }

    [Test]
    public void Adding_a_batch_needs_no_lines()
    {
        var product = LoadedFor(ProductScope.TotalsOnly);

        product.AddBatch(new Batch("b2", "LAMP", 5, eta: null));

        product.Events.Should().Equal(new BatchCreated("b2", "LAMP", 5, null));
    }

    [Test]
    public void The_loaded_order_can_be_allocated_and_deallocated()
    {
        var product = LoadedFor(ProductScope.ForOrder("o1"));

        product.Allocate(new OrderLine("o1", "LAMP", 2)).Should().Be("b1");
        product.Deallocate("o1").Should().Be("b1");

        product.Events.Should().Equal(
            new LineAllocated(new OrderLine("o1", "LAMP", 2), "b1"),
            new LineDeallocated(new OrderLine("o1", "LAMP", 2), "b1", DeallocationReason.Requested));
    }
}
