namespace Allocation.Domain;

/// <summary>
/// A quantity of one SKU bought at once: stock in the warehouse (no ETA) or a shipment on its way.
/// </summary>
/// <remarks>
/// The allocated quantity is kept as a running total rather than summed from every line ever
/// allocated, so that a batch with a long history costs no more to load than a new one. The batch
/// knows the lines it was loaded with (the ones a use case is about) and the ones allocated since.
/// </remarks>
public sealed class Batch
{
    private readonly HashSet<OrderLine> _allocations;

    public Batch(string reference, string sku, int purchasedQuantity, DateOnly? eta)
        : this(reference, sku, purchasedQuantity, eta, allocatedQuantity: 0, knownAllocations: [])
    {
    }

    private Batch(
        string reference,
        string sku,
        int purchasedQuantity,
        DateOnly? eta,
        int allocatedQuantity,
        IEnumerable<OrderLine> knownAllocations)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        ArgumentException.ThrowIfNullOrWhiteSpace(sku);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(purchasedQuantity);
        ArgumentOutOfRangeException.ThrowIfNegative(allocatedQuantity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(allocatedQuantity, purchasedQuantity);
        Reference = reference;
        Sku = sku;
        PurchasedQuantity = purchasedQuantity;
        Eta = eta;
        AllocatedQuantity = allocatedQuantity;
        _allocations = [.. knownAllocations];
    }

    public string Reference { get; }

    public string Sku { get; }

    public int PurchasedQuantity { get; }

    /// <summary>When the batch arrives; null means it is already in the warehouse.</summary>
    public DateOnly? Eta { get; }

    public int AllocatedQuantity { get; private set; }

    public int AvailableQuantity => PurchasedQuantity - AllocatedQuantity;

    /// <summary>The lines this batch holds that are known to this instance.</summary>
    public IReadOnlyCollection<OrderLine> Allocations => _allocations;

    /// <summary>Rebuilds a stored batch from its running total and the lines a use case needs.</summary>
    public static Batch Restore(
        string reference,
        string sku,
        int purchasedQuantity,
        DateOnly? eta,
        int allocatedQuantity,
        IEnumerable<OrderLine> knownAllocations) =>
        new(reference, sku, purchasedQuantity, eta, allocatedQuantity, knownAllocations);

    public bool CanAllocate(OrderLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return line.Sku == Sku && line.Quantity <= AvailableQuantity;
    }

    public bool Holds(OrderLine line) => _allocations.Contains(line);

    /// <summary>Allocates the line if it fits; the same line allocated twice counts once.</summary>
    public void Allocate(OrderLine line)
    {
        if (Holds(line) || !CanAllocate(line))
        {
            return;
        }

        _allocations.Add(line);
        AllocatedQuantity += line.Quantity;
    }

    /// <summary>Gives back a line this batch holds; a line it does not hold is left alone.</summary>
    public void Deallocate(OrderLine line)
    {
        if (_allocations.Remove(line))
        {
            AllocatedQuantity -= line.Quantity;
        }
    }
}
