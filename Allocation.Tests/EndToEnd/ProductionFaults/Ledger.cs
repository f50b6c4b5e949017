using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>What the database must hold after a fault: exactly the writes the clients were told about.</summary>
internal static class Ledger
{
    /// <summary>No batch oversold, every running total equal to the sum of its lines, no line without its allocation.</summary>
    public static async Task ShouldBeConsistentAsync(Store store, IReadOnlyCollection<string> skus)
    {
        var skuArray = skus.ToArray();
        (await store.ScalarAsync<long>(
            "SELECT count(*) FROM batches WHERE sku = ANY(@skus) AND allocated_quantity > purchased_quantity", new { skus = skuArray }))
            .Should().Be(0, "no batch is oversold");
        (await store.ScalarAsync<long>(
            """
            SELECT count(*) FROM batches b WHERE b.sku = ANY(@skus) AND b.allocated_quantity <>
              (SELECT coalesce(sum(ol.qty), 0) FROM allocations a JOIN order_lines ol ON ol.id = a.orderline_id WHERE a.batch_id = b.id)
            """, new { skus = skuArray })).Should().Be(0, "running totals equal the sum of their lines");
        (await store.ScalarAsync<long>(
            "SELECT count(*) FROM order_lines ol LEFT JOIN allocations a ON a.orderline_id = ol.id WHERE ol.sku = ANY(@skus) AND a.orderline_id IS NULL",
            new { skus = skuArray })).Should().Be(0, "no line without its allocation");
    }

    /// <summary>
    /// Every 201 of an allocate is in the database; no 4xx wrote anything; a line no client was told
    /// about can only come from a request that got no answer or a 5xx (the commit may have happened
    /// as the connection broke). Returns how many of those did commit.
    /// </summary>
    public static async Task<int> ShouldHoldExactlyTheConfirmedAllocationsAsync(
        Store store, IReadOnlyCollection<string> skus, IEnumerable<Answer> allocateAnswers)
    {
        var answers = allocateAnswers.ToList();
        var lines = (await store.QueryAsync<string>("SELECT orderid FROM order_lines WHERE sku = ANY(@skus)", new { skus = skus.ToArray() }))
            .ToHashSet(StringComparer.Ordinal);
        var confirmed = answers.Where(a => a.Status == 201).Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
        var ambiguous = answers.Where(a => a.IsAmbiguous).Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
        var refused = answers.Where(a => a.Status is >= 400 and < 500).Select(a => a.Key).ToHashSet(StringComparer.Ordinal);

        confirmed.Except(lines).Should().BeEmpty("every 201 is in the database");
        refused.Intersect(lines).Should().BeEmpty("a 4xx answer wrote nothing");
        lines.Except(confirmed).Except(ambiguous).Should().BeEmpty("the database holds no allocation that no client asked for");
        return lines.Intersect(ambiguous).Count();
    }
}
