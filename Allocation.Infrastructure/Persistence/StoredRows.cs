namespace Allocation.Infrastructure.Persistence;

// One row type per table a product is loaded from. The load statements alias every column with
// nameof(...) of these properties (ProductSql), so a renamed property cannot silently read nothing.

/// <summary>A row of <c>products</c>.</summary>
internal sealed class ProductRow
{
    public int VersionNumber { get; init; }
}

/// <summary>A row of <c>batches</c>.</summary>
internal sealed class BatchRow
{
    public string Reference { get; init; } = "";

    public int PurchasedQuantity { get; init; }

    public DateOnly? Eta { get; init; }

    public int AllocatedQuantity { get; init; }
}

/// <summary>A row of <c>order_lines</c> with the reference of the batch its allocation points at.</summary>
internal sealed class OrderLineRow
{
    public string OrderId { get; init; } = "";

    public int Quantity { get; init; }

    public string BatchReference { get; init; } = "";
}
