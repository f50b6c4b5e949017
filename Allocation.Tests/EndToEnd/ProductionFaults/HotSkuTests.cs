using Allocation.Tests.Support;
using FluentAssertions.Execution;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// Issue 7, row 2: one instance, a burst of allocates of one SKU. Contention queues inside the
/// instance and ends in a 201, an out-of-stock 400 or, after the retry budget, a 409 with
/// Retry-After; never a timeout or an unavailable from contention alone.
/// </summary>
public class HotSkuTests : FaultFixture
{
    [Test]
    public async Task Two_hundred_fifty_concurrent_allocates_of_one_sku_on_one_instance_never_time_out_and_never_oversell()
    {
        const int requests = 250;
        const int stock = 125;
        var sku = Unique.Sku("hot");
        await AddStockAsync(sku, stock);

        var answers = await Task.WhenAll(Enumerable.Range(0, requests).Select(_ => Ask.AllocateAsync(Api.Client, Unique.OrderId(), sku)));

        TestContext.Progress.WriteLine($"hot SKU, {requests} concurrent allocates, {stock} in stock, 1 instance: {Answer.Summary(answers)}");
        using var all = new AssertionScope();
        answers.Where(a => !InTime(a)).Select(a => a.ToString()).Should().BeEmpty("every answer comes within the request deadline");
        answers.Where(a => !(a.Status == 201 || a.IsOutOfStock || a.IsConflict)).Select(a => a.ToString()).Should().BeEmpty(
            "contention is a 201, an out-of-stock 400 or a 409 with Retry-After: 1, never a 503 or 504");
        answers.Should().Contain(a => a.Status == 201);

        var allocated = await Store.ScalarAsync<long>("SELECT sum(allocated_quantity) FROM batches WHERE sku = @sku", new { sku });
        allocated.Should().Be(answers.Count(a => a.Status == 201), "each 201 took one unit, and nothing else did");
        if (answers.Any(a => a.IsOutOfStock))
        {
            allocated.Should().Be(stock, "an out-of-stock answer means every unit was taken");
        }

        await Ledger.ShouldBeConsistentAsync(Store, [sku]);
        await Ledger.ShouldHoldExactlyTheConfirmedAllocationsAsync(Store, [sku], answers);
    }
}
