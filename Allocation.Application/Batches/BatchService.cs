using Allocation.Application.Common;
using Allocation.Domain;

namespace Allocation.Application.Batches;

/// <summary>Use cases about stock: adding a batch, changing one, and reading one.</summary>
public sealed class BatchService(ProductWrites writes, IAllocationReadModel readModel, ConflictRetry retry)
{
    /// <summary>Adds a batch, creating the SKU's product when it is the first batch of that SKU.</summary>
    /// <exception cref="DuplicateBatch">The reference is taken.</exception>
    public Task<BatchView> AddBatchAsync(
        string reference, string sku, int quantity, DateOnly? eta, CancellationToken cancellationToken) =>
        writes.WriteAsync(
            sku,
            async (uow, ct) =>
            {
                var batch = new Batch(reference, sku, quantity, eta);
                var product = await uow.Products.GetAsync(sku, orderId: null, ct);
                if (product is null)
                {
                    product = new Product(sku, []);
                    uow.Products.Add(product);
                }

                product.AddBatch(batch);
                return ToView(batch);
            },
            cancellationToken);

    /// <summary>
    /// Changes a batch's purchased quantity and/or ETA. Lines that no longer fit are allocated again
    /// elsewhere or given up, in the same transaction (see <see cref="Product.ChangeBatch"/>).
    /// </summary>
    /// <remarks>
    /// The product is loaded under its row lock, so the change wins against steady allocation traffic
    /// instead of losing the version check to it (ADR 10); only a change that takes lines off the batch
    /// loads them.
    /// </remarks>
    /// <exception cref="BatchNotFound">No batch has this reference.</exception>
    public async Task<BatchChangeResult> ChangeBatchAsync(
        string reference, int? quantity, EtaChange eta, CancellationToken cancellationToken)
    {
        // The write gate and the retries are per SKU, and a batch never changes SKU: find it first.
        var sku = (await GetBatchAsync(reference, cancellationToken)).Sku;
        return await writes.WriteAsync(
            sku,
            async (uow, ct) =>
            {
                var product = await uow.Products.GetForChangeAsync(sku, ct);
                if (product is null || product.Batches.All(b => b.Reference != reference))
                {
                    throw new BatchNotFound(reference);
                }

                if (product.ChangeTakesLinesOff(reference, quantity))
                {
                    // Already under the row lock: the lines read now are the ones the commit will find.
                    product = await uow.Products.GetForBatchAsync(sku, reference, ct) ?? throw new BatchNotFound(reference);
                }

                var outcome = product.ChangeBatch(reference, quantity, eta);
                var batch = product.Batches.Single(b => b.Reference == reference);
                return new BatchChangeResult(ToView(batch), outcome.Reallocated, outcome.Unallocated);
            },
            cancellationToken);
    }

    /// <exception cref="BatchNotFound">No batch has this reference.</exception>
    public async Task<BatchView> GetBatchAsync(string reference, CancellationToken cancellationToken)
    {
        if (!Identifiers.IsValid(reference))
        {
            // Nothing can be stored under it, and the database would refuse some of these (NUL) outright.
            throw new BatchNotFound(reference);
        }

        return await retry.ReadAsync(ct => readModel.GetBatchAsync(reference, ct), cancellationToken) ?? throw new BatchNotFound(reference);
    }

    private static BatchView ToView(Batch batch) =>
        new(batch.Reference, batch.Sku, batch.PurchasedQuantity, batch.Eta, batch.AllocatedQuantity);
}
