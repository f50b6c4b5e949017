namespace Allocation.Domain;

/// <summary>
/// Something a product did, in the order it did it. The store writes the state it leads to and keeps
/// the event itself for other services, in the same transaction.
/// </summary>
public abstract record ProductEvent;

/// <summary>A batch of stock was added.</summary>
public sealed record BatchCreated(string Reference, string Sku, int Quantity, DateOnly? Eta) : ProductEvent;

/// <summary>A batch's purchased quantity or ETA changed (the values before and after).</summary>
public sealed record BatchChanged(
    string Reference, string Sku, int QuantityBefore, int QuantityAfter, DateOnly? EtaBefore, DateOnly? EtaAfter) : ProductEvent;

/// <summary>A line was allocated to a batch.</summary>
public sealed record LineAllocated(OrderLine Line, string BatchReference) : ProductEvent;

/// <summary>Why a line stopped being allocated.</summary>
public enum DeallocationReason
{
    /// <summary>The order gave it back.</summary>
    Requested,

    /// <summary>Its batch shrank and no batch had room for it.</summary>
    BatchReduced,
}

/// <summary>A line was taken off its batch and is not allocated any more.</summary>
public sealed record LineDeallocated(OrderLine Line, string BatchReference, DeallocationReason Reason) : ProductEvent;

/// <summary>A line moved from one batch to another because the first one shrank.</summary>
public sealed record LineReallocated(OrderLine Line, string FromBatchReference, string ToBatchReference) : ProductEvent;

/// <summary>A line found no batch with room: an allocation that was refused, or a reallocation that failed.</summary>
public sealed record StockRanOut(OrderLine Line) : ProductEvent;
