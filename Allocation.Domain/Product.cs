namespace Allocation.Domain;

/// <summary>
/// All the batches of one SKU: the consistency boundary of allocation. Every change bumps
/// <see cref="VersionNumber"/>, which lets concurrent writers of the same SKU detect each other.
/// </summary>
public sealed class Product
{
    private readonly List<Batch> _batches;
    private readonly List<ProductChange> _changes = [];

    public Product(string sku, IEnumerable<Batch> batches, int versionNumber = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sku);
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentOutOfRangeException.ThrowIfNegative(versionNumber);
        Sku = sku;
        _batches = [.. batches];
        if (_batches.Any(b => b.Sku != sku))
        {
            throw new ArgumentException($"Every batch of product {sku} must be for that SKU.", nameof(batches));
        }

        VersionNumber = versionNumber;
        LoadedVersionNumber = versionNumber;
    }

    public string Sku { get; }

    public int VersionNumber { get; private set; }

    /// <summary>The version this instance started from: what a store compares against.</summary>
    public int LoadedVersionNumber { get; }

    public IReadOnlyList<Batch> Batches => _batches;

    /// <summary>Changes since this instance was created, oldest first.</summary>
    public IReadOnlyList<ProductChange> Changes => _changes;

    public void AddBatch(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Sku != Sku)
        {
            throw new ArgumentException($"Batch {batch.Reference} is for SKU {batch.Sku}, not {Sku}.", nameof(batch));
        }

        if (_batches.Any(b => b.Reference == batch.Reference))
        {
            throw new DuplicateBatch(batch.Reference);
        }

        _batches.Add(batch);
        Record(new BatchAdded(batch));
    }

    /// <summary>
    /// Allocates the line to warehouse stock first, then to the shipment arriving soonest,
    /// never splitting it. Allocating a line that is already allocated returns its batch again.
    /// </summary>
    /// <returns>The reference of the batch that holds the line.</returns>
    /// <exception cref="OutOfStock">No batch can take the whole line.</exception>
    /// <exception cref="ConflictingOrderLine">The order already has this SKU with another quantity.</exception>
    public string Allocate(OrderLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var (holder, existing) = FindLineOfOrder(line.OrderId, line.Sku);
        if (holder is not null && existing is not null)
        {
            return existing.Quantity == line.Quantity
                ? holder.Reference
                : throw new ConflictingOrderLine(existing, holder.Reference, line.Quantity);
        }

        var batch = _batches
            .Where(b => b.CanAllocate(line))
            .OrderBy(b => b.Eta.HasValue)
            .ThenBy(b => b.Eta)
            .ThenBy(b => b.Reference, StringComparer.Ordinal)
            .FirstOrDefault() ?? throw new OutOfStock(line.Sku);

        batch.Allocate(line);
        Record(new LineAllocated(line, batch.Reference));
        return batch.Reference;
    }

    /// <summary>Gives back the line of the order for this SKU.</summary>
    /// <returns>The reference of the batch that held the line.</returns>
    /// <exception cref="LineNotAllocated">The order has no allocation for this SKU.</exception>
    public string Deallocate(string orderId)
    {
        var (holder, line) = FindLineOfOrder(orderId, Sku);
        if (holder is null || line is null)
        {
            throw new LineNotAllocated(orderId, Sku);
        }

        holder.Deallocate(line);
        Record(new LineDeallocated(line, holder.Reference));
        return holder.Reference;
    }

    private (Batch? Holder, OrderLine? Line) FindLineOfOrder(string orderId, string sku)
    {
        foreach (var batch in _batches)
        {
            foreach (var line in batch.Allocations)
            {
                if (line.OrderId == orderId && line.Sku == sku)
                {
                    return (batch, line);
                }
            }
        }

        return (null, null);
    }

    private void Record(ProductChange change)
    {
        _changes.Add(change);
        VersionNumber++;
    }
}
