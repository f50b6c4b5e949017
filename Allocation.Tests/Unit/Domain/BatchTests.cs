using Allocation.Domain;

namespace Allocation.Tests.Unit.Domain;

/// <summary>
/// A batch's quantities and lines. Its mutators are internal to the domain: every test changes a
/// batch through its <see cref="Product"/>, as production code must.
/// </summary>
public class BatchTests
{
    private static Product ProductOf(Batch batch) => new(batch.Sku, [batch]);

    private static (Batch Batch, OrderLine Line) BatchAndLine(string sku, int batchQuantity, int lineQuantity) =>
        (new Batch("batch-001", sku, batchQuantity, eta: new DateOnly(2011, 1, 1)), new OrderLine("order-123", sku, lineQuantity));

    [Test]
    public void Allocating_to_a_batch_reduces_the_available_quantity()
    {
        var batch = new Batch("batch-001", "SMALL-TABLE", 20, eta: new DateOnly(2011, 1, 1));

        ProductOf(batch).Allocate(new OrderLine("order-ref", "SMALL-TABLE", 2));

        batch.AvailableQuantity.Should().Be(18);
        batch.AllocatedQuantity.Should().Be(2);
    }

    [Test]
    public void Can_allocate_if_available_greater_than_required()
    {
        var (batch, line) = BatchAndLine("ELEGANT-LAMP", 20, 2);
        batch.CanAllocate(line).Should().BeTrue();
    }

    [Test]
    public void Cannot_allocate_if_available_smaller_than_required()
    {
        var (batch, line) = BatchAndLine("ELEGANT-LAMP", 2, 20);
        batch.CanAllocate(line).Should().BeFalse();
    }

    [Test]
    public void Can_allocate_if_available_equal_to_required()
    {
        var (batch, line) = BatchAndLine("ELEGANT-LAMP", 2, 2);
        batch.CanAllocate(line).Should().BeTrue();
    }

    [Test]
    public void Cannot_allocate_if_skus_do_not_match()
    {
        var batch = new Batch("batch-001", "UNCOMFORTABLE-CHAIR", 100, eta: null);
        batch.CanAllocate(new OrderLine("order-123", "EXPENSIVE-TOASTER", 10)).Should().BeFalse();
    }

    [Test]
    public void Allocating_more_than_available_changes_nothing()
    {
        var (batch, line) = BatchAndLine("ELEGANT-LAMP", 2, 20);

        var act = () => ProductOf(batch).Allocate(line);

        act.Should().Throw<OutOfStock>();
        batch.AvailableQuantity.Should().Be(2);
        batch.Allocations.Should().BeEmpty();
    }

    [Test]
    public void Allocation_is_idempotent()
    {
        var (batch, line) = BatchAndLine("ANGULAR-DESK", 20, 2);
        var product = ProductOf(batch);

        product.Allocate(line);
        product.Allocate(line);

        batch.AvailableQuantity.Should().Be(18);
        batch.Allocations.Should().ContainSingle().Which.Should().Be(line);
    }

    [Test]
    public void Can_only_deallocate_allocated_lines()
    {
        var (batch, unallocatedLine) = BatchAndLine("DECORATIVE-TRINKET", 20, 2);

        var act = () => ProductOf(batch).Deallocate(unallocatedLine.OrderId);

        act.Should().Throw<LineNotAllocated>();

        batch.AvailableQuantity.Should().Be(20);
    }

    [Test]
    public void Deallocating_an_allocated_line_frees_its_quantity()
    {
        var (batch, line) = BatchAndLine("DECORATIVE-TRINKET", 20, 2);
        var product = ProductOf(batch);
        product.Allocate(line);

        product.Deallocate(line.OrderId);

        batch.AvailableQuantity.Should().Be(20);
        batch.Holds(line).Should().BeFalse();
    }

    [Test]
    public void A_restored_batch_counts_its_recorded_total_not_just_the_lines_it_was_loaded_with()
    {
        var known = new OrderLine("order-1", "SOFA", 5);
        var batch = Batch.Restore("batch-001", "SOFA", 100, eta: null, allocatedQuantity: 60, knownAllocations: [known]);

        batch.AvailableQuantity.Should().Be(40);
        new Product("SOFA", [batch], versionNumber: 1, ProductScope.ForOrder(known.OrderId)).Deallocate(known.OrderId);
        batch.AvailableQuantity.Should().Be(45);
    }

    [Test]
    public void A_restored_batch_cannot_be_oversold()
    {
        var act = () => Batch.Restore("batch-001", "SOFA", 10, eta: null, allocatedQuantity: 11, knownAllocations: []);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [TestCase(0)]
    [TestCase(-1)]
    public void A_batch_needs_a_positive_quantity(int quantity)
    {
        var act = () => new Batch("batch-001", "SOFA", quantity, eta: null);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
