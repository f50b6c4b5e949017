using Allocation.Domain;

namespace Allocation.Tests.Unit.Domain;

public class OrderLineTests
{
    [Test]
    public void Order_lines_with_the_same_values_are_equal()
    {
        new OrderLine("order-1", "LAMP", 3).Should().Be(new OrderLine("order-1", "LAMP", 3));
        new OrderLine("order-1", "LAMP", 3).Should().NotBe(new OrderLine("order-1", "LAMP", 4));
    }

    [Test]
    public void Lines_of_one_order_and_sku_are_the_same_line_whatever_the_quantity()
    {
        new OrderLine("order-1", "LAMP", 3).IsSameOrderLineAs(new OrderLine("order-1", "LAMP", 4)).Should().BeTrue();
        new OrderLine("order-1", "LAMP", 3).IsSameOrderLineAs(new OrderLine("order-2", "LAMP", 3)).Should().BeFalse();
    }

    [TestCase("", "LAMP", 1)]
    [TestCase(" ", "LAMP", 1)]
    [TestCase("order-1", "", 1)]
    [TestCase("order-1", "LAMP", 0)]
    [TestCase("order-1", "LAMP", -5)]
    public void An_order_line_refuses_blank_identities_and_non_positive_quantities(string orderId, string sku, int quantity)
    {
        var act = () => new OrderLine(orderId, sku, quantity);
        act.Should().Throw<ArgumentException>();
    }
}
