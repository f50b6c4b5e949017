using Allocation.Domain;

namespace Allocation.Tests.Unit.Domain;

/// <summary>The all-or-nothing decision over the products of one order.</summary>
public class WholeOrderTests
{
    private static Product Stocked(string sku, int quantity, int version = 3) =>
        new(sku, [new Batch($"{sku}-batch", sku, quantity, eta: null)], version);

    private static OrderLine Line(string sku, int quantity) => new("o1", sku, quantity);

    [Test]
    public void Allocates_every_line_when_every_product_has_room()
    {
        var (chair, lamp, table) = (Stocked("CHAIR", 5), Stocked("LAMP", 5), Stocked("TABLE", 5));

        var decision = WholeOrder.Allocate([Line("TABLE", 1), Line("CHAIR", 2), Line("LAMP", 3)], [chair, lamp, table]);

        decision.IsAllocated.Should().BeTrue();
        decision.Allocated.Should().Equal(
            new AllocatedLine(Line("CHAIR", 2), "CHAIR-batch"),
            new AllocatedLine(Line("LAMP", 3), "LAMP-batch"),
            new AllocatedLine(Line("TABLE", 1), "TABLE-batch"));
        chair.Batches[0].AllocatedQuantity.Should().Be(2);
        lamp.Batches[0].AllocatedQuantity.Should().Be(3);
        table.Batches[0].AllocatedQuantity.Should().Be(1);
    }

    [Test]
    public void One_line_without_room_allocates_nothing_and_changes_no_product_but_the_carrier()
    {
        var (chair, lamp, table) = (Stocked("CHAIR", 5), Stocked("LAMP", 2), Stocked("TABLE", 5));

        var decision = WholeOrder.Allocate([Line("CHAIR", 2), Line("LAMP", 3), Line("TABLE", 1)], [chair, lamp, table]);

        decision.IsAllocated.Should().BeFalse();
        decision.Allocated.Should().BeEmpty();
        decision.OutOfStockSkus.Should().Equal("LAMP");
        new[] { chair, lamp, table }.Should().OnlyContain(p => p.Batches[0].AllocatedQuantity == 0);
        chair.Events.Should().BeEmpty();
        lamp.Events.Should().BeEmpty("a rejected order records no per-SKU out-of-stock event");
        chair.VersionNumber.Should().Be(3);
        lamp.VersionNumber.Should().Be(3);
        table.Events.Should().Equal(
            new OrderRejected("o1", [Line("CHAIR", 2), Line("LAMP", 3), Line("TABLE", 1)], ["LAMP"]));
    }

    [Test]
    public void Several_lines_without_room_are_all_named_in_sku_order()
    {
        var (chair, lamp, table) = (Stocked("CHAIR", 1), Stocked("LAMP", 5), Stocked("TABLE", 1));

        var decision = WholeOrder.Allocate([Line("TABLE", 2), Line("LAMP", 3), Line("CHAIR", 2)], [table, lamp, chair]);

        decision.OutOfStockSkus.Should().Equal("CHAIR", "TABLE");
        lamp.Batches[0].AllocatedQuantity.Should().Be(0, "the line with room is not held back from other customers");
    }

    [Test]
    public void The_carrier_is_the_greatest_sku_and_records_the_order_after_its_line()
    {
        var (alpha, zulu) = (Stocked("ALPHA", 5), Stocked("ZULU", 5));

        WholeOrder.Allocate([Line("ZULU", 1), Line("ALPHA", 1)], [zulu, alpha]);

        alpha.Events.Should().Equal(new LineAllocated(Line("ALPHA", 1), "ALPHA-batch"));
        zulu.Events.Should().Equal(
            new LineAllocated(Line("ZULU", 1), "ZULU-batch"),
            new OrderAllocated("o1", [new AllocatedLine(Line("ALPHA", 1), "ALPHA-batch"), new AllocatedLine(Line("ZULU", 1), "ZULU-batch")]));
    }

    [Test]
    public void Lines_the_order_already_holds_count_and_are_not_allocated_again()
    {
        var (chair, lamp) = (Stocked("CHAIR", 5), Stocked("LAMP", 5));
        chair.Allocate(Line("CHAIR", 2));
        var held = new Product("CHAIR", chair.Batches, 4);

        var decision = WholeOrder.Allocate([Line("CHAIR", 2), Line("LAMP", 1)], [held, lamp]);

        decision.Allocated.Select(a => a.Line).Should().Equal(Line("CHAIR", 2), Line("LAMP", 1));
        held.Events.Should().BeEmpty();
        held.Batches[0].AllocatedQuantity.Should().Be(2);
        lamp.Events.OfType<OrderAllocated>().Should().ContainSingle();
    }

    [Test]
    public void An_order_that_holds_every_line_already_changes_and_records_nothing()
    {
        var (chair, lamp) = (Stocked("CHAIR", 5), Stocked("LAMP", 5));
        WholeOrder.Allocate([Line("CHAIR", 2), Line("LAMP", 1)], [chair, lamp]);
        var (chairAgain, lampAgain) = (new Product("CHAIR", chair.Batches, 4), new Product("LAMP", lamp.Batches, 4));

        var repeat = WholeOrder.Allocate([Line("LAMP", 1), Line("CHAIR", 2)], [lampAgain, chairAgain]);

        repeat.Changed.Should().BeFalse();
        repeat.Allocated.Select(a => a.BatchReference).Should().Equal("CHAIR-batch", "LAMP-batch");
        chairAgain.Events.Should().BeEmpty();
        lampAgain.Events.Should().BeEmpty();
    }

    [Test]
    public void Other_lines_for_an_order_that_holds_lines_are_a_conflict_naming_what_it_holds()
    {
        var (chair, lamp) = (Stocked("CHAIR", 5), Stocked("LAMP", 5));
        WholeOrder.Allocate([Line("CHAIR", 2), Line("LAMP", 1)], [chair, lamp]);
        Product Again(Product p) => new(p.Sku, p.Batches, 4);

        var otherQuantity = () => WholeOrder.Allocate([Line("CHAIR", 3), Line("LAMP", 1)], [Again(chair), Again(lamp)]);
        var fewerLines = () => WholeOrder.Allocate([Line("CHAIR", 2)], [Again(chair), Again(lamp)]);

        otherQuantity.Should().Throw<ConflictingOrder>()
            .WithMessage("Order o1 already holds 2 of sku CHAIR (batch CHAIR-batch), 1 of sku LAMP (batch LAMP-batch)*")
            .Which.Held.Select(h => h.Line).Should().Equal(Line("CHAIR", 2), Line("LAMP", 1));
        fewerLines.Should().Throw<ConflictingOrder>();
    }

    [Test]
    public void Deallocating_gives_back_every_line_the_order_holds()
    {
        var (chair, lamp, table) = (Stocked("CHAIR", 5), Stocked("LAMP", 5), Stocked("TABLE", 5));
        WholeOrder.Allocate([Line("CHAIR", 2), Line("LAMP", 1)], [chair, lamp]);

        var released = WholeOrder.Deallocate("o1", [lamp, table, chair]);

        released.Should().Equal(new AllocatedLine(Line("CHAIR", 2), "CHAIR-batch"), new AllocatedLine(Line("LAMP", 1), "LAMP-batch"));
        chair.Batches[0].AllocatedQuantity.Should().Be(0);
        lamp.Batches[0].AllocatedQuantity.Should().Be(0);
        table.Events.Should().BeEmpty();
    }

    [Test]
    public void Refuses_to_decide_about_lines_a_product_was_not_loaded_with()
    {
        var loadedForAnotherOrder = new Product("LAMP", [new Batch("b", "LAMP", 5, null)], 1, ProductScope.ForOrder("o2"));

        var act = () => WholeOrder.Allocate([Line("LAMP", 1)], [loadedForAnotherOrder]);

        act.Should().Throw<OutsideLoadedScope>();
    }
}
