using System.Text.Json.Serialization;
using Allocation.Application.Allocations;
using Allocation.Application.Batches;

namespace Allocation.Api.Contracts;

/// <summary>A batch and how much of it is taken.</summary>
/// <param name="Reference">Batch reference.</param>
/// <param name="Sku">The SKU the batch holds.</param>
/// <param name="Quantity">Purchased quantity.</param>
/// <param name="Eta">Expected arrival; null for warehouse stock.</param>
/// <param name="Allocated">Quantity allocated to order lines.</param>
/// <param name="Available">Quantity still free.</param>
public sealed record BatchResponse(
    [property: JsonPropertyName("ref")] string Reference,
    [property: JsonPropertyName("sku")] string Sku,
    [property: JsonPropertyName("qty")] int Quantity,
    [property: JsonPropertyName("eta")] DateOnly? Eta,
    [property: JsonPropertyName("allocated")] int Allocated,
    [property: JsonPropertyName("available")] int Available)
{
    internal static BatchResponse From(BatchView batch) =>
        new(batch.Reference, batch.Sku, batch.PurchasedQuantity, batch.Eta, batch.AllocatedQuantity, batch.AvailableQuantity);
}

/// <summary>The batch an order line is allocated to, or was until it was given back.</summary>
/// <param name="BatchReference">Batch reference.</param>
public sealed record BatchReferenceResponse([property: JsonPropertyName("batchref")] string BatchReference);

/// <summary>One SKU of an order and its batch.</summary>
/// <param name="Sku">The SKU.</param>
/// <param name="BatchReference">The batch holding it.</param>
public sealed record OrderAllocationResponse(
    [property: JsonPropertyName("sku")] string Sku,
    [property: JsonPropertyName("batchref")] string BatchReference)
{
    internal static OrderAllocationResponse From(OrderAllocation allocation) =>
        new(allocation.Sku, allocation.BatchReference);
}

/// <summary>A batch after a change, and where the lines it could no longer hold went.</summary>
/// <param name="Reference">Batch reference.</param>
/// <param name="Sku">The SKU the batch holds.</param>
/// <param name="Quantity">Purchased quantity.</param>
/// <param name="Eta">Expected arrival; null for warehouse stock.</param>
/// <param name="Allocated">Quantity allocated to order lines.</param>
/// <param name="Available">Quantity still free.</param>
/// <param name="Reallocated">Lines moved to another batch, oldest allocation first.</param>
/// <param name="Unallocated">Lines that fit in no batch and are no longer allocated.</param>
public sealed record BatchChangeResponse(
    [property: JsonPropertyName("ref")] string Reference,
    [property: JsonPropertyName("sku")] string Sku,
    [property: JsonPropertyName("qty")] int Quantity,
    [property: JsonPropertyName("eta")] DateOnly? Eta,
    [property: JsonPropertyName("allocated")] int Allocated,
    [property: JsonPropertyName("available")] int Available,
    [property: JsonPropertyName("reallocated")] IReadOnlyList<ReallocatedLineResponse> Reallocated,
    [property: JsonPropertyName("unallocated")] IReadOnlyList<OrderLineResponse> Unallocated)
{
    internal static BatchChangeResponse From(BatchChangeResult result)
    {
        var batch = result.Batch;
        return new(
            batch.Reference,
            batch.Sku,
            batch.PurchasedQuantity,
            batch.Eta,
            batch.AllocatedQuantity,
            batch.AvailableQuantity,
            [.. result.Reallocated.Select(r => new ReallocatedLineResponse(r.Line.OrderId, r.Line.Sku, r.Line.Quantity, r.FromBatchReference, r.ToBatchReference))],
            [.. result.Unallocated.Select(l => new OrderLineResponse(l.OrderId, l.Sku, l.Quantity))]);
    }
}

/// <summary>A line that moved from one batch to another.</summary>
/// <param name="OrderId">The order.</param>
/// <param name="Sku">The SKU.</param>
/// <param name="Quantity">The line's quantity.</param>
/// <param name="From">The batch it was on.</param>
/// <param name="To">The batch it is on now.</param>
public sealed record ReallocatedLineResponse(
    [property: JsonPropertyName("orderid")] string OrderId,
    [property: JsonPropertyName("sku")] string Sku,
    [property: JsonPropertyName("qty")] int Quantity,
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To);

/// <summary>An order line.</summary>
/// <param name="OrderId">The order.</param>
/// <param name="Sku">The SKU.</param>
/// <param name="Quantity">The line's quantity.</param>
public sealed record OrderLineResponse(
    [property: JsonPropertyName("orderid")] string OrderId,
    [property: JsonPropertyName("sku")] string Sku,
    [property: JsonPropertyName("qty")] int Quantity);
