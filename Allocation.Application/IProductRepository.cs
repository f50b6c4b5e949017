using Allocation.Domain;

namespace Allocation.Application;

/// <summary>Products, one per SKU, inside the current unit of work.</summary>
public interface IProductRepository
{
    /// <summary>
    /// Loads one SKU's product: its batches with their allocated totals and, when
    /// <paramref name="orderId"/> is given, that order's line for this SKU. Other lines of the
    /// batches are not loaded: no use case needs them, and loading them would make an allocation
    /// cost more as history grows.
    /// </summary>
    /// <returns>The product, or null when the SKU has no batches.</returns>
    Task<Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken);

    /// <summary>
    /// Loads one SKU's product with its batches' totals and no lines, like <see cref="GetAsync"/>
    /// without an order, and holds the product's row lock until the unit of work ends: every other
    /// writer of the SKU waits, so this unit of work's commit cannot lose the version check. For the
    /// rare writer that must make progress against steady allocation traffic (a batch change, ADR 10);
    /// keep what follows short.
    /// </summary>
    /// <returns>The product, or null when the SKU has no product.</returns>
    Task<Product?> GetForChangeAsync(string sku, CancellationToken cancellationToken);

    /// <summary>
    /// Loads one SKU's product with every line <paramref name="batchReference"/> holds, oldest
    /// allocation first (what a change that takes lines off that batch needs), and no other lines,
    /// holding the product's row lock like <see cref="GetForChangeAsync"/>.
    /// </summary>
    /// <returns>The product, or null when no batch of this SKU has that reference.</returns>
    Task<Product?> GetForBatchAsync(string sku, string batchReference, CancellationToken cancellationToken);

    /// <summary>Starts tracking a product that is not stored yet.</summary>
    void Add(Product product);
}
