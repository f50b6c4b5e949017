namespace Allocation.Application.Batches;

/// <summary>A batch as callers see it.</summary>
public sealed record BatchView(string Reference, string Sku, int PurchasedQuantity, DateOnly? Eta, int AllocatedQuantity)
{
    public int AvailableQuantity => PurchasedQuantity - AllocatedQuantity;
}
