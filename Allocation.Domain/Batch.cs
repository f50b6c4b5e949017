namespace Allocation.Domain;

/// <summary>
/// A quantity of one SKU bought at once: stock in the warehouse (no ETA) or a shipment on its way.
/// </summary>
/// <remarks>
/// The allocated quantity is kept as a running total rather than summed from every line ever
/// allocated, so that a batch with a long history costs no more to load than a new one. The batch
/// knows the lines it was loaded with (the ones a use case is about) and the ones allocated since,
/// oldest allocation first.
/// </remarks>
public sealed class Batch
{
    private readonly List<OrderLine> _allocations;

    /// <summary>The same lines as a set: whether a batch holds a line costs the same with 10 lines as with 10,000.</summary>
    private readonly HashSet<OrderLine> _held;

    /// <summary>A new batch: bought stock, so at least one unit.</summary>
    public Batch(string reference, string sku, int purchasedQuantity, DateOnly? eta)
        : this(reference, sku, purchasedQuantity, eta, allocatedQuantity: 0, knownAllocations: [])
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(purchasedQuantity);
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
        // A stored batch may have shrunk to nothing: a cancelled shipment.
        ArgumentOutOfRangeException.ThrowIfNegative(purchasedQuantity);
        ArgumentOutOfRangeException.ThrowIfNegative(allocatedQuantity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(allocatedQuantity, purchasedQuantity);
        Reference = reference;
        Sku = sku;
        PurchasedQuantity = purchasedQuantity;
        Eta = eta;
        AllocatedQuantity = allocatedQuantity;
        _allocations = [.. knownAllocations];
        _held = [.. _allocations];
    }

    public string Reference { get; }

    public string Sku { get; }

    public int PurchasedQuantity { get; private set; }

    /// <summary>When the batch arrives; null means it is already in the warehouse.</summary>
    public DateOnly? Eta { get; private set; }

    public int AllocatedQuantity { get; private set; }

    public int AvailableQuantity => PurchasedQuantity - AllocatedQuantity;

    /// <summary>The lines this batch holds that are known to this instance, oldest allocation first.</summary>
    public IReadOnlyList<OrderLine> Allocations => _allocations;

    /// <summary>Whether every line the batch holds is known, not only its running total.</summary>
    public bool AllLinesKnown => _allocations.Sum(line => line.Quantity) == AllocatedQuantity;

    /// <summary>Rebuilds a stored batch from its running total and the lines a use case needs, oldest allocation first.</summary>
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

    public bool Holds(OrderLine line) => _held.Contains(line);

    /// <summary>Allocates the line if it fits; the same line allocated twice counts once.</summary>
    /// <remarks>Only <see cref="Product"/> decides which batch takes a line (and records it as an event).</remarks>
    internal void Allocate(OrderLine line)
    {
        if (Holds(line) || !CanAllocate(line))
        {
            return;
        }

        _allocations.Add(line);
        _held.Add(line);
        AllocatedQuantity += line.Quantity;
    }

    /// <summary>Gives back a line this batch holds; a line it does not hold is left alone.</summary>
    /// <remarks>Only <see cref="Product"/> takes lines off (and records it as an event).</remarks>
    internal void Deallocate(OrderLine line)
    {
        if (_held.Remove(line))
        {
            // The newest is the one a reduction takes off: found at once from the end.
            _allocations.RemoveAt(_allocations.LastIndexOf(line));
            AllocatedQuantity -= line.Quantity;
        }
    }

    /// <summary>Changes the quantity bought; never below what is allocated (take lines off first).</summary>
    internal void ChangePurchasedQuantity(int quantity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(quantity);
        if (quantity < AllocatedQuantity)
        {
            throw new InvalidOperationException(
                $"Batch {Reference} has {AllocatedQuantity} allocated; take lines off before reducing it to {quantity}.");
        }

        PurchasedQuantity = quantity;
    }

    internal void ChangeEta(DateOnly? eta) => Eta = eta;
}
