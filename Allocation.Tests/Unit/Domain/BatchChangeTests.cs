using Allocation.Domain;

namespace Allocation.Tests.Unit.Domain;

/// <summary>The quantity-change rule: newest allocation off first, each re-allocated by the usual preference.</summary>
public class BatchChangeTests
{
    private static readonly DateOnly Soon = new(2026, 12, 1);
    private static readonly DateOnly Later = new(2026, 12, 20);

    private static OrderLine Line(string orderId, int quantity) => new(orderId, "SOFA", quantity);

    /// <summary>A stored batch with lines, oldest allocation first, loaded for a change of that batch.</summary>
    private static Product Loaded(Batch reduced, params Batch[] others) =>
        new("SOFA", [reduced, .. others], versionNumber: 3, ProductScope.ForBatch(reduced.Reference));

    private static Batch Stored(string reference, int quantity, DateOnly? eta, params OrderLine[] lines) =>
        Batch.Restore(reference, "SOFA", quantity, eta, lines.Sum(l => l.Quantity), lines);

    [Test]
    public void A_larger_quantity_or_a_new_eta_moves_no_line_and_records_one_change()
    {
        var batch = Stored("b1", 10, Soon, Line("o1", 4));
        var product = Loaded(batch);

        var outcome = product.ChangeBatch("b1", 20, EtaChange.To(Later));

        outcome.Reallocated.Should().BeEmpty();
        outcome.Unallocated.Should().BeEmpty();
        (batch.PurchasedQuantity, batch.Eta, batch.AllocatedQuantity).Should().Be((20, Later, 4));
        product.Events.Should().Equal(new BatchChanged("b1", "SOFA", 10, 20, Soon, Later));
        product.VersionNumber.Should().Be(4);
    }

    [Test]
    public void Lines_come_off_newest_first_until_the_rest_fits()
    {
        var batch = Stored("b1", 10, null, Line("oldest", 3), Line("middle", 3), Line("newest", 3));
        var elsewhere = Stored("b2", 100, Later);
        var product = Loaded(batch, elsewhere);

        var outcome = product.ChangeBatch("b1", 5, EtaChange.Keep);

        batch.Allocations.Should().Equal(Line("oldest", 3));
        elsewhere.AllocatedQuantity.Should().Be(6);
        outcome.Reallocated.Select(r => r.Line.OrderId).Should().Equal("middle", "newest");
        outcome.Unallocated.Should().BeEmpty();
        product.Events.Should().Equal(
            new BatchChanged("b1", "SOFA", 10, 5, null, null),
            new LineReallocated(Line("middle", 3), "b1", "b2"),
            new LineReallocated(Line("newest", 3), "b1", "b2"));
    }

    [Test]
    public void Lines_taken_off_go_to_warehouse_stock_first_then_the_earliest_shipment()
    {
        var batch = Stored("b1", 10, Soon, Line("o1", 4), Line("o2", 4));
        var later = Stored("b-later", 10, Later);
        var soon = Stored("b-soon", 10, Soon);
        var warehouse = Stored("b-warehouse", 4, null);
        var product = Loaded(batch, later, soon, warehouse);

        var outcome = product.ChangeBatch("b1", 0, EtaChange.Keep);

        // o1 was allocated first, so it chooses first: the warehouse; o2 then gets the soonest shipment.
        outcome.Reallocated.Should().Equal(
            new LineReallocated(Line("o1", 4), "b1", "b-warehouse"),
            new LineReallocated(Line("o2", 4), "b1", "b-soon"));
        later.AllocatedQuantity.Should().Be(0);
        batch.AllocatedQuantity.Should().Be(0);
        batch.PurchasedQuantity.Should().Be(0);
    }

    [Test]
    public void A_line_taken_off_may_fit_back_on_the_reduced_batch_and_then_nothing_moved()
    {
        // Taking off "newest" (1) is not enough, so "middle" (5) comes off too; then "newest" fits again.
        var batch = Stored("b1", 8, null, Line("oldest", 2), Line("middle", 5), Line("newest", 1));
        var product = Loaded(batch);

        var outcome = product.ChangeBatch("b1", 4, EtaChange.Keep);

        batch.Allocations.Should().BeEquivalentTo([Line("oldest", 2), Line("newest", 1)]);
        outcome.Reallocated.Should().BeEmpty();
        outcome.Unallocated.Should().Equal(Line("middle", 5));
        product.Events.Should().Equal(
            new BatchChanged("b1", "SOFA", 8, 4, null, null),
            new LineDeallocated(Line("middle", 5), "b1", DeallocationReason.BatchReduced),
            new StockRanOut(Line("middle", 5)));
    }

    [Test]
    public void A_line_that_fits_nowhere_is_unallocated_and_reported_out_of_stock()
    {
        var batch = Stored("b1", 10, null, Line("o1", 6), Line("o2", 4));
        var tooSmall = Stored("b2", 3, Soon);
        var product = Loaded(batch, tooSmall);

        var outcome = product.ChangeBatch("b1", 0, EtaChange.Keep);

        outcome.Unallocated.Should().Equal(Line("o1", 6), Line("o2", 4));
        tooSmall.AllocatedQuantity.Should().Be(0, "a line is never split");
        product.Events.Should().Equal(
            new BatchChanged("b1", "SOFA", 10, 0, null, null),
            new LineDeallocated(Line("o1", 6), "b1", DeallocationReason.BatchReduced),
            new StockRanOut(Line("o1", 6)),
            new LineDeallocated(Line("o2", 4), "b1", DeallocationReason.BatchReduced),
            new StockRanOut(Line("o2", 4)));
    }

    [Test]
    public void A_new_eta_changes_where_future_lines_go_but_not_where_existing_ones_are()
    {
        var first = Stored("b1", 10, Soon, Line("o1", 2));
        var second = Stored("b2", 10, Later);
        var product = new Product("SOFA", [first, second], 0, ProductScope.ForOrder("o2"));

        product.ChangeBatch("b1", null, EtaChange.To(new DateOnly(2027, 1, 31)));

        first.Allocations.Should().Equal(Line("o1", 2));
        product.Allocate(Line("o2", 1)).Should().Be("b2");
    }

    [Test]
    public void Changing_nothing_records_nothing()
    {
        var product = Loaded(Stored("b1", 10, Soon));

        product.ChangeBatch("b1", 10, EtaChange.To(Soon)).Should().Be(BatchChangeOutcome.None);
        product.ChangeBatch("b1", null, EtaChange.Keep).Should().Be(BatchChangeOutcome.None);

        product.Events.Should().BeEmpty();
        product.VersionNumber.Should().Be(product.LoadedVersionNumber);
    }

    [Test]
    public void Reducing_a_batch_whose_lines_were_not_loaded_is_refused()
    {
        var batch = Batch.Restore("b1", "SOFA", 10, null, allocatedQuantity: 8, knownAllocations: [Line("o1", 2)]);
        var forOrder = new Product("SOFA", [batch], 0, ProductScope.ForOrder("o1"));
        var forBatchButIncomplete = new Product("SOFA", [batch], 0, ProductScope.ForBatch("b1"));

        var reduce = () => forOrder.ChangeBatch("b1", 5, EtaChange.Keep);
        var reduceBlind = () => forBatchButIncomplete.ChangeBatch("b1", 5, EtaChange.Keep);

        reduce.Should().Throw<OutsideLoadedScope>().WithMessage("*lines of order o1*lines of batch b1*");
        reduceBlind.Should().Throw<OutsideLoadedScope>();
        batch.AllocatedQuantity.Should().Be(8);
        forOrder.Events.Should().BeEmpty();
    }
}
