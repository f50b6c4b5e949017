namespace Allocation.Domain;

/// <summary>A customer's request for a quantity of one SKU, as part of an order. A value object.</summary>
public sealed record OrderLine
{
    public OrderLine(string orderId, string sku, int quantity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orderId);
        ArgumentException.ThrowIfNullOrWhiteSpace(sku);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(quantity);
        OrderId = orderId;
        Sku = sku;
        Quantity = quantity;
    }

    public string OrderId { get; }

    public string Sku { get; }

    public int Quantity { get; }
}
