namespace Allocation.Domain;

/// <summary>An order line and the batch that holds it. A value object.</summary>
public sealed record AllocatedLine(OrderLine Line, string BatchReference);

/// <summary>
/// What became of a whole order (<see cref="WholeOrder"/>): news only, no stored state of its own. One
/// product of the order carries it, so it is stored and numbered with that product's changes.
/// </summary>
public abstract record OrderEvent(string OrderId) : ProductEvent;

/// <summary>Every line of the order is allocated: each with its batch, in SKU order (ordinal).</summary>
public sealed record OrderAllocated(string OrderId, IReadOnlyList<AllocatedLine> Lines) : OrderEvent(OrderId)
{
    public bool Equals(OrderAllocated? other) =>
        other is not null && OrderId == other.OrderId && Lines.SequenceEqual(other.Lines);

    public override int GetHashCode() => HashCode.Combine(OrderId, Lines.Count);
}

/// <summary>
/// The order was refused as a whole and nothing of it was allocated: the lines asked for, and the SKUs
/// (in SKU order) whose batches had no room for their line.
/// </summary>
public sealed record OrderRejected(string OrderId, IReadOnlyList<OrderLine> Lines, IReadOnlyList<string> OutOfStockSkus)
    : OrderEvent(OrderId)
{
    public bool Equals(OrderRejected? other) =>
        other is not null && OrderId == other.OrderId && Lines.SequenceEqual(other.Lines)
        && OutOfStockSkus.SequenceEqual(other.OutOfStockSkus);

    public override int GetHashCode() => HashCode.Combine(OrderId, Lines.Count, OutOfStockSkus.Count);
}
