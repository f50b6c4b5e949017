namespace Allocation.Domain;

/// <summary>
/// The all-or-nothing decision over the products of one order: either every line gets a batch, or
/// none does and nothing is held back from other customers. Each product still guards its own
/// invariants, loaded scope and version; this only decides whether to ask all of them or none.
/// </summary>
/// <remarks>
/// The order's outcome (<see cref="OrderAllocated"/> or <see cref="OrderRejected"/>) is recorded on
/// one product, the order's <em>carrier</em>: the product of the order's greatest SKU (ordinal). It
/// is stored last of the order's changes, so its event follows the line events, and it is numbered
/// on that SKU's sequence like any of its events (ADR 8).
/// </remarks>
public static class WholeOrder
{
    /// <summary>
    /// Allocates every line of the order, or none. A line the order already holds with the same
    /// quantity (allocated by an earlier order call or one line at a time) counts as allocated and is
    /// not allocated again; when the order already holds all of the lines, nothing changes and nothing
    /// is recorded.
    /// </summary>
    /// <param name="lines">The order's lines: at least one, all of one order, each SKU once.</param>
    /// <param name="products">
    /// The product of every SKU in <paramref name="lines"/> and of every SKU the order already holds,
    /// each loaded with this order's lines.
    /// </param>
    /// <returns>Every line with its batch, or the SKUs without room (then nothing was allocated).</returns>
    /// <exception cref="ConflictingOrder">
    /// The order already holds a line the request does not have, or the same SKU with another quantity.
    /// </exception>
    public static OrderDecision Allocate(IReadOnlyCollection<OrderLine> lines, IReadOnlyCollection<Product> products)
    {
        var (orderId, ordered, bySku) = Prepare(lines, products);
        var held = products
            .Select(p => p.AllocationOf(orderId))
            .OfType<AllocatedLine>()
            .OrderBy(a => a.Line.Sku, StringComparer.Ordinal)
            .ToList();
        if (held.Any(h => !ordered.Contains(h.Line)))
        {
            throw new ConflictingOrder(orderId, held);
        }

        var heldSkus = held.Select(h => h.Line.Sku).ToHashSet(StringComparer.Ordinal);
        var missing = ordered.Where(l => !heldSkus.Contains(l.Sku)).ToList();
        if (missing.Count == 0)
        {
            return new OrderDecision(orderId, held, OutOfStockSkus: [], Changed: false);
        }

        var carrier = bySku[ordered[^1].Sku];
        var outOfStock = missing.Where(l => !bySku[l.Sku].HasRoomFor(l)).Select(l => l.Sku).ToList();
        if (outOfStock.Count > 0)
        {
            // Nothing is asked of the products with room: no line is held back from other customers.
            carrier.Record(new OrderRejected(orderId, ordered, outOfStock));
            return new OrderDecision(orderId, Allocated: [], outOfStock, Changed: true);
        }

        foreach (var line in missing)
        {
            bySku[line.Sku].Allocate(line);
        }

        var allocated = ordered.Select(l => bySku[l.Sku].AllocationOf(orderId)!).ToList();
        carrier.Record(new OrderAllocated(orderId, allocated));
        return new OrderDecision(orderId, allocated, OutOfStockSkus: [], Changed: true);
    }

    /// <summary>Gives back every line the order holds on these products.</summary>
    /// <param name="orderId">The order.</param>
    /// <param name="products">The products of the SKUs the order holds, each loaded with this order's lines.</param>
    /// <returns>The lines given back with the batches that held them, in SKU order; empty when the order held none.</returns>
    public static IReadOnlyList<AllocatedLine> Deallocate(string orderId, IReadOnlyCollection<Product> products)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(orderId);
        ArgumentNullException.ThrowIfNull(products);
        var released = new List<AllocatedLine>();
        foreach (var product in products.OrderBy(p => p.Sku, StringComparer.Ordinal))
        {
            if (product.AllocationOf(orderId) is { } line)
            {
                product.Deallocate(orderId);
                released.Add(line);
            }
        }

        return released;
    }

    private static (string OrderId, List<OrderLine> Ordered, Dictionary<string, Product> BySku) Prepare(
        IReadOnlyCollection<OrderLine> lines, IReadOnlyCollection<Product> products)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(products);
        if (lines.Count == 0)
        {
            throw new ArgumentException("An order has at least one line.", nameof(lines));
        }

        var orderId = lines.First().OrderId;
        if (lines.Any(l => l.OrderId != orderId))
        {
            throw new ArgumentException("Every line must be of the same order.", nameof(lines));
        }

        var ordered = lines.OrderBy(l => l.Sku, StringComparer.Ordinal).ToList();
        if (ordered.Select(l => l.Sku).Distinct(StringComparer.Ordinal).Count() != ordered.Count)
        {
            throw new ArgumentException("An order has each SKU at most once.", nameof(lines));
        }

        var bySku = products.ToDictionary(p => p.Sku, StringComparer.Ordinal);
        if (ordered.FirstOrDefault(l => !bySku.ContainsKey(l.Sku)) is { } unknown)
        {
            throw new ArgumentException($"No product was given for sku {unknown.Sku}.", nameof(products));
        }

        return (orderId, ordered, bySku);
    }
}

/// <summary>What <see cref="WholeOrder.Allocate"/> decided.</summary>
/// <param name="OrderId">The order.</param>
/// <param name="Allocated">Every line with its batch, in SKU order (ordinal); empty when the order was rejected.</param>
/// <param name="OutOfStockSkus">The SKUs without room for their line, in SKU order; empty when the order is allocated.</param>
/// <param name="Changed">Something was recorded: false only when the order already held every line.</param>
public sealed record OrderDecision(
    string OrderId, IReadOnlyList<AllocatedLine> Allocated, IReadOnlyList<string> OutOfStockSkus, bool Changed)
{
    public bool IsAllocated => OutOfStockSkus.Count == 0;
}
