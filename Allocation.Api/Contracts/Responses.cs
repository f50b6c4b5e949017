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
