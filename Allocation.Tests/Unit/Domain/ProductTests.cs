using Allocation.Domain;

namespace Allocation.Tests.Unit.Domain;

public class ProductTests
{
    private static readonly DateOnly Today = new(2026, 11, 28);
    private static readonly DateOnly Tomorrow = Today.AddDays(1);
    private static readonly DateOnly Later = Today.AddDays(10);

    [Test]
    public void Prefers_warehouse_batches_to_shipments()
    {
        var inStock = new Batch("in-stock-batch", "RETRO-CLOCK", 100, eta: null);
        var shipment = new Batch("shipment-batch", "RETRO-CLOCK", 100, eta: Tomorrow);
        var product = new Product("RETRO-CLOCK", [shipment, inStock]);

        product.Allocate(new OrderLine("oref", "RETRO-CLOCK", 10));

        inStock.AvailableQuantity.Should().Be(90);
        shipment.AvailableQuantity.Should().Be(100);
    }

    [Test]
    public void Prefers_earlier_batches()
    {
        var earliest = new Batch("speedy-batch", "MINIMALIST-SPOON", 100, eta: Today);
        var medium = new Batch("normal-batch", "MINIMALIST-SPOON", 100, eta: Tomorrow);
        var latest = new Batch("slow-batch", "MINIMALIST-SPOON", 100, eta: Later);
        var product = new Product("MINIMALIST-SPOON", [medium, latest, earliest]);

        product.Allocate(new OrderLine("order1", "MINIMALIST-SPOON", 10));

        earliest.AvailableQuantity.Should().Be(90);
        medium.AvailableQuantity.Should().Be(100);
        latest.AvailableQuantity.Should().Be(100);
    }

    [Test]
    public void Returns_the_allocated_batch_reference()
    {
        var inStock = new Batch("in-stock-batch-ref", "HIGHBROW-POSTER", 100, eta: null);
        var shipment = new Batch("shipment-batch-ref", "HIGHBROW-POSTER", 100, eta: Tomorrow);
        var product = new Product("HIGHBROW-POSTER", [inStock, shipment]);

        product.Allocate(new OrderLine("oref", "HIGHBROW-POSTER", 10)).Should().Be(inStock.Reference);
    }

    [Test]
    public void Ties_on_eta_go_to_the_lowest_reference()
    {
        var b = new Batch("batch-b", "TIE", 100, eta: Today);
        var a = new Batch("batch-a", "TIE", 100, eta: Today);
        var product = new Product("TIE", [b, a]);

        product.Allocate(new OrderLine("o1", "TIE", 1)).Should().Be("batch-a");
    }

    [Test]
    public void Skips_a_preferred_batch_that_cannot_take_the_whole_line()
    {
        var small = new Batch("small", "SPLIT", 5, eta: null);
        var large = new Batch("large", "SPLIT", 100, eta: Later);
        var product = new Product("SPLIT", [small, large]);

        product.Allocate(new OrderLine("o1", "SPLIT", 6)).Should().Be("large");
        small.AvailableQuantity.Should().Be(5);
    }

    [Test]
    public void Never_splits_a_line_across_batches()
    {
        var first = new Batch("first", "SPLIT", 5, eta: null);
        var second = new Batch("second", "SPLIT", 5, eta: null);
        var product = new Product("SPLIT", [first, second]);

        var act = () => product.Allocate(new OrderLine("o1", "SPLIT", 6));

        act.Should().Throw<OutOfStock>();
        first.AvailableQuantity.Should().Be(5);
        second.AvailableQuantity.Should().Be(5);
    }

    [Test]
    public void Raises_out_of_stock_when_no_batch_can_take_the_line()
    {
        var batch = new Batch("batch1", "SMALL-FORK", 10, eta: Today);
        var product = new Product("SMALL-FORK", [batch]);
        product.Allocate(new OrderLine("order1", "SMALL-FORK", 10));

        var act = () => product.Allocate(new OrderLine("order2", "SMALL-FORK", 1));

        act.Should().Throw<OutOfStock>().WithMessage("Out of stock for sku SMALL-FORK");
    }

    [Test]
    public void Changes_move_the_version_on_by_one_whatever_their_number()
    {
        var product = new Product("SCANDI-PEN", [new Batch("b1", "SCANDI-PEN", 100, eta: null)], versionNumber: 7);

        product.Allocate(new OrderLine("oref", "SCANDI-PEN", 10));
        product.AddBatch(new Batch("b2", "SCANDI-PEN", 5, eta: Later));
        product.Deallocate("oref");

        product.VersionNumber.Should().Be(8, "a unit of work stores its changes as one step");
        product.LoadedVersionNumber.Should().Be(7);
        product.Events.Should().HaveCount(3);
    }

    [Test]
    public void Repeating_an_allocation_returns_the_same_batch_and_changes_nothing()
    {
        var batch = new Batch("b1", "REPEAT", 10, eta: null);
        var later = new Batch("b2", "REPEAT", 10, eta: Later);
        var product = new Product("REPEAT", [batch, later]);
        product.Allocate(new OrderLine("o1", "REPEAT", 10));

        // b1 is now full: a naive repeat would spill into b2 and allocate twice.
        var again = product.Allocate(new OrderLine("o1", "REPEAT", 10));

        again.Should().Be("b1");
        later.AvailableQuantity.Should().Be(10);
        product.VersionNumber.Should().Be(1);
        product.Events.Should().ContainSingle();
    }

    [Test]
    public void The_same_order_and_sku_with_another_quantity_is_a_conflict_naming_the_existing_allocation()
    {
        var product = new Product("REPEAT", [new Batch("b1", "REPEAT", 10, eta: null)]);
        product.Allocate(new OrderLine("o1", "REPEAT", 3));

        var act = () => product.Allocate(new OrderLine("o1", "REPEAT", 4));

        act.Should().Throw<ConflictingOrderLine>()
            .Where(e => e.BatchReference == "b1" && e.Existing.Quantity == 3)
            .WithMessage("*o1*3*REPEAT*b1*");
    }

    [Test]
    public void Deallocating_returns_the_batch_that_held_the_line_and_frees_it()
    {
        var batch = new Batch("b1", "DEALLOC", 10, eta: null);
        var product = new Product("DEALLOC", [batch]);
        product.Allocate(new OrderLine("o1", "DEALLOC", 4));

        product.Deallocate("o1").Should().Be("b1");

        batch.AvailableQuantity.Should().Be(10);
        product.Events[^1].Should().Be(new LineDeallocated(new OrderLine("o1", "DEALLOC", 4), "b1", DeallocationReason.Requested));
    }

    [Test]
    public void Deallocating_an_order_without_a_line_raises_not_allocated()
    {
        var product = new Product("DEALLOC", [new Batch("b1", "DEALLOC", 10, eta: null)]);

        var act = () => product.Deallocate("o-unknown");

        act.Should().Throw<LineNotAllocated>().WithMessage("Order o-unknown has no allocation for sku DEALLOC");
        product.VersionNumber.Should().Be(0);
    }

    [Test]
    public void Deallocate_then_allocate_again_picks_the_best_batch_again()
    {
        var product = new Product("AGAIN", [new Batch("b1", "AGAIN", 5, eta: null), new Batch("b2", "AGAIN", 5, eta: Later)]);
        product.Allocate(new OrderLine("o1", "AGAIN", 5));
        product.Deallocate("o1");

        product.Allocate(new OrderLine("o2", "AGAIN", 5)).Should().Be("b1");
    }

    [Test]
    public void Adding_a_batch_with_a_known_reference_is_refused()
    {
        var product = new Product("DUP", [new Batch("b1", "DUP", 10, eta: null)]);

        var act = () => product.AddBatch(new Batch("b1", "DUP", 5, eta: null));

        act.Should().Throw<DuplicateBatch>().WithMessage("Batch b1 already exists");
        product.Events.Should().BeEmpty();
    }

    [Test]
    public void A_product_holds_only_batches_of_its_own_sku()
    {
        var product = new Product("MINE", []);

        var act = () => product.AddBatch(new Batch("b1", "OTHER", 10, eta: null));
        var construct = () => new Product("MINE", [new Batch("b1", "OTHER", 10, eta: null)]);

        act.Should().Throw<ArgumentException>();
        construct.Should().Throw<ArgumentException>();
    }

    [Test]
    public void Allocation_records_the_change_for_the_store()
    {
        var product = new Product("REC", [new Batch("b1", "REC", 10, eta: null)]);

        product.Allocate(new OrderLine("o1", "REC", 2));

        product.Events.Should().Equal(new LineAllocated(new OrderLine("o1", "REC", 2), "b1"));
    }

    [Test]
    public void A_refused_allocation_records_that_stock_ran_out_and_changes_no_batch()
    {
        var batch = new Batch("b1", "REC", 1, eta: null);
        var product = new Product("REC", [batch]);

        var act = () => product.Allocate(new OrderLine("o1", "REC", 2));

        act.Should().Throw<OutOfStock>();
        product.Events.Should().Equal(new StockRanOut(new OrderLine("o1", "REC", 2)));
        batch.AllocatedQuantity.Should().Be(0);
    }
}
