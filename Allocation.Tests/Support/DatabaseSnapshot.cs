namespace Allocation.Tests.Support;

/// <summary>
/// Row counts and sums of every table: equal snapshots mean nothing was written. Only on a database
/// nothing else writes meanwhile, so never on the shared one, which parallel fixtures write.
/// </summary>
public sealed record DatabaseSnapshot(long Products, long VersionSum, long Batches, long PurchasedSum, long AllocatedSum, long Lines, long Allocations, long Events, long IdempotencyKeys)
{
    public static async Task<DatabaseSnapshot> TakeAsync(Store store)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.Database.IsShared)
        {
            throw new InvalidOperationException(
                "Other fixtures write to the shared database in parallel: compare whole tables on a database of the fixture's own (TestDatabase.OwnAsync).");
        }

        var row = await store.QueryAsync<DatabaseSnapshot>(
            """
            SELECT (SELECT count(*) FROM products) AS Products,
                   (SELECT coalesce(sum(version_number), 0) FROM products)::bigint AS VersionSum,
                   (SELECT count(*) FROM batches) AS Batches,
                   (SELECT coalesce(sum(purchased_quantity), 0) FROM batches)::bigint AS PurchasedSum,
                   (SELECT coalesce(sum(allocated_quantity), 0) FROM batches)::bigint AS AllocatedSum,
                   (SELECT count(*) FROM order_lines) AS Lines,
                   (SELECT count(*) FROM allocations) AS Allocations,
                   (SELECT count(*) FROM outbox) AS Events,
                   (SELECT count(*) FROM idempotency_keys) AS IdempotencyKeys
            """);
        return row.Single();
    }
}
