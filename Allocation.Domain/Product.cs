namespace Allocation.Domain;

/// <summary>
/// All the batches of one SKU: the consistency boundary of allocation. A product that changed is
/// stored as <see cref="LoadedVersionNumber"/> + 1, which lets concurrent writers of the same SKU
/// detect each other; what it did is in <see cref="Events"/>.
/// </summary>
public sealed class Product
{
    private readonly List<Batch> _batches;
    private readonly List<ProductEvent> _events = [];

    /// <param name="sku">The SKU.</param>
    /// <param name="batches">Its batches, with the lines <paramref name="scope"/> says were loaded.</param>
    /// <param name="versionNumber">The stored version the batches were read at.</param>
    /// <param name="scope">Which lines were loaded; a product built in memory knows them all.</param>
    public Product(string sku, IEnumerable<Batch> batches, int versionNumber = 0, ProductScope? scope = null)
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

        LoadedVersionNumber = versionNumber;
        Scope = scope ?? ProductScope.Everything;
    }

    public string Sku { get; }

    /// <summary>The version this product has once its changes are stored: one more than loaded if it changed.</summary>
    public int VersionNumber => _events.Count > 0 ? LoadedVersionNumber + 1 : LoadedVersionNumber;

    /// <summary>The version this instance started from: what a store compares against.</summary>
    public int LoadedVersionNumber { get; }

    /// <summary>Which lines this instance was loaded with; it refuses to decide about others.</summary>
    public ProductScope Scope { get; }

    public IReadOnlyList<Batch> Batches => _batches;

    /// <summary>What this instance did since it was created, oldest first.</summary>
    public IReadOnlyList<ProductEvent> Events => _events;

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
        _events.Add(new BatchCreated(batch.Reference, Sku, batch.PurchasedQuantity, batch.Eta));
    }

    /// <summary>
    /// Allocates the line to warehouse stock first, then to the shipment arriving soonest,
    /// never splitting it. Allocating a line that is already allocated returns its batch again.
    /// </summary>
    /// <returns>The reference of the batch that holds the line.</returns>
    /// <exception cref="OutOfStock">
    /// No batch can take the whole line. <see cref="StockRanOut"/> is recorded first: the refusal is
    /// news for other services, so the caller stores it before reporting the error.
    /// </exception>
    /// <exception cref="ConflictingOrderLine">The order already has this SKU with another quantity.</exception>
    /// <exception cref="OutsideLoadedScope">The product was not loaded with this order's lines.</exception>
    public string Allocate(OrderLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        RequireOrderInScope(line.OrderId);
        var (holder, existing) = FindLineOfOrder(line.OrderId, line.Sku);
        if (holder is not null && existing is not null)
        {
            return existing.Quantity == line.Quantity
                ? holder.Reference
                : throw new ConflictingOrderLine(existing, holder.Reference, line.Quantity);
        }

        if (PreferredBatchFor(line) is not { } batch)
        {
            _events.Add(new StockRanOut(line));
            throw new OutOfStock(line.Sku);
        }

        batch.Allocate(line);
        _events.Add(new LineAllocated(line, batch.Reference));
        return batch.Reference;
    }

    /// <summary>The order's line of this SKU and the batch that holds it; null when the order holds none.</summary>
    /// <exception cref="OutsideLoadedScope">The product was not loaded with this order's lines.</exception>
    public AllocatedLine? AllocationOf(string orderId)
    {
        RequireOrderInScope(orderId);
        var (holder, line) = FindLineOfOrder(orderId, Sku);
        return holder is null || line is null ? null : new AllocatedLine(line, holder.Reference);
    }

    /// <summary>Whether <see cref="Allocate"/> would find a batch for the whole line now; decides nothing and records nothing.</summary>
    /// <exception cref="OutsideLoadedScope">The product was not loaded with this order's lines.</exception>
    public bool HasRoomFor(OrderLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        RequireOrderInScope(line.OrderId);
        return PreferredBatchFor(line) is not null;
    }

    /// <summary>
    /// Records the outcome of a whole order on this product, the order's carrier (<see cref="WholeOrder"/>):
    /// the event is stored and numbered with this product's changes.
    /// </summary>
    internal void Record(OrderEvent orderEvent)
    {
        ArgumentNullException.ThrowIfNull(orderEvent);
        RequireOrderInScope(orderEvent.OrderId);
        _events.Add(orderEvent);
    }

    /// <summary>Gives back the line of the order for this SKU.</summary>
    /// <returns>The reference of the batch that held the line.</returns>
    /// <exception cref="LineNotAllocated">The order has no allocation for this SKU.</exception>
    /// <exception cref="OutsideLoadedScope">The product was not loaded with this order's lines.</exception>
    public string Deallocate(string orderId)
    {
        RequireOrderInScope(orderId);
        var (holder, line) = FindLineOfOrder(orderId, Sku);
        if (holder is null || line is null)
        {
            throw new LineNotAllocated(orderId, Sku);
        }

        holder.Deallocate(line);
        _events.Add(new LineDeallocated(line, holder.Reference, DeallocationReason.Requested));
        return holder.Reference;
    }

    /// <summary>
    /// Changes what a batch holds or when it arrives. When it now holds less than is allocated, lines
    /// come off it newest allocation first until the rest fits, and each is allocated again by the
    /// usual preference (oldest of them first) to any batch with room, this one included; a line that
    /// fits nowhere is no longer allocated. A new ETA orders future allocations only. Changing nothing
    /// records nothing.
    /// </summary>
    /// <param name="reference">The batch.</param>
    /// <param name="quantity">The new purchased quantity, or null to keep it.</param>
    /// <param name="eta">The new ETA (null: in the warehouse), or <see cref="EtaChange.Keep"/>.</param>
    /// <exception cref="OutsideLoadedScope">The product was not loaded with every line of the batch.</exception>
    public BatchChangeOutcome ChangeBatch(string reference, int? quantity, EtaChange eta)
    {
        ArgumentNullException.ThrowIfNull(eta);
        var batch = _batches.SingleOrDefault(b => b.Reference == reference)
            ?? throw new ArgumentException($"Product {Sku} has no batch {reference}.", nameof(reference));
        var newQuantity = quantity ?? batch.PurchasedQuantity;
        ArgumentOutOfRangeException.ThrowIfNegative(newQuantity, nameof(quantity));
        var newEta = eta.Changes ? eta.Value : batch.Eta;
        if (newQuantity == batch.PurchasedQuantity && newEta == batch.Eta)
        {
            return BatchChangeOutcome.None;
        }

        var takenOff = new List<OrderLine>();
        if (newQuantity < batch.AllocatedQuantity)
        {
            if (!Scope.CoversBatch(reference) || !batch.AllLinesKnown)
            {
                throw new OutsideLoadedScope(Sku, Scope, $"the lines of batch {reference}");
            }

            while (batch.AllocatedQuantity > newQuantity)
            {
                var newest = batch.Allocations[^1];
                batch.Deallocate(newest);
                takenOff.Add(newest);
            }
        }

        _events.Add(new BatchChanged(reference, Sku, batch.PurchasedQuantity, newQuantity, batch.Eta, newEta));
        batch.ChangePurchasedQuantity(newQuantity);
        batch.ChangeEta(newEta);

        var reallocated = new List<LineReallocated>();
        var unallocated = new List<OrderLine>();
        takenOff.Reverse();
        foreach (var line in takenOff)
        {
            var target = PreferredBatchFor(line);
            target?.Allocate(line);
            if (target == batch)
            {
                // It fits again where it was: nothing moved.
                continue;
            }

            if (target is null)
            {
                _events.Add(new LineDeallocated(line, reference, DeallocationReason.BatchReduced));
                _events.Add(new StockRanOut(line));
                unallocated.Add(line);
            }
            else
            {
                var moved = new LineReallocated(line, reference, target.Reference);
                _events.Add(moved);
                reallocated.Add(moved);
            }
        }

        return new BatchChangeOutcome(reallocated, unallocated);
    }

    private Batch? PreferredBatchFor(OrderLine line) => _batches
        .Where(b => b.CanAllocate(line))
        .OrderBy(b => b.Eta.HasValue)
        .ThenBy(b => b.Eta)
        .ThenBy(b => b.Reference, StringComparer.Ordinal)
        .FirstOrDefault();

    private void RequireOrderInScope(string orderId)
    {
        if (!Scope.CoversOrder(orderId))
        {
            throw new OutsideLoadedScope(Sku, Scope, $"the lines of order {orderId}");
        }
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
}

/// <summary>What a batch change did to the lines the batch held.</summary>
/// <param name="Reallocated">Lines moved to another batch.</param>
/// <param name="Unallocated">Lines that fit nowhere and are no longer allocated.</param>
public sealed record BatchChangeOutcome(IReadOnlyList<LineReallocated> Reallocated, IReadOnlyList<OrderLine> Unallocated)
{
    public static BatchChangeOutcome None { get; } = new([], []);
}

/// <summary>An ETA to set (null: the batch is in the warehouse), or none to keep the current one.</summary>
public sealed record EtaChange
{
    private EtaChange(bool changes, DateOnly? value)
    {
        Changes = changes;
        Value = value;
    }

    public static EtaChange Keep { get; } = new(false, null);

    public bool Changes { get; }

    public DateOnly? Value { get; }

    public static EtaChange To(DateOnly? eta) => new(true, eta);
}
