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
