namespace Allocation.Application.Allocations;

/// <summary>One SKU of an order and the batch it is allocated to.</summary>
public sealed record OrderAllocation(string Sku, string BatchReference);
