using System.Text.Json;
using Allocation.Tests.Support;
using FluentAssertions.Execution;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// Issue 7, row 1: three API instances share a server with PostgreSQL's default max_connections
/// (100). Each instance keeps to its own pool (2 × cores + 4 connections by default), so a burst
/// never runs the server out of connections and never surfaces as a 5xx.
/// </summary>
public class FleetConnectionBudgetTests : FaultFixture
{
    /// <summary>Per instance: DbUp's own connection (it opens it from the connection string) and the sampler, the tests' store.</summary>
    private const int Reserve = 3 + 2;

    /// <summary>The service's default Maximum Pool Size; the instances run on this machine.</summary>
    private static int Pool => (2 * Environment.ProcessorCount) + 4;

    private static int Budget => (3 * Pool) + Reserve;

    protected override int InstanceCount => 3;

    [Test]
    public async Task Three_instances_on_default_max_connections_answer_180_concurrent_allocates_of_one_sku_without_a_5xx()
    {
        const int requests = 180;
        const int stock = 120;
        var sku = Unique.Sku("hot");
        await AddStockAsync(sku, stock / 2);
        await AddStockAsync(sku, stock / 2, "2030-01-01");

        await using var sampler = await ConnectionSampler.StartAsync(Cluster);
        var answers = await Task.WhenAll(Enumerable.Range(0, requests)
            .Select(i => Ask.AllocateAsync(Instances[i % Instances.Count].Client, Unique.OrderId(), sku)));
        var peak = await sampler.StopAsync();

        TestContext.Progress.WriteLine(
            $"fleet allocate, {requests} concurrent, one SKU, {stock} in stock, 3 instances: {Answer.Summary(answers)}; " +
            $"peak client backends {peak} (budget {Budget}, {sampler.Samples} samples)");
        using var all = new AssertionScope();
        answers.Where(a => !InTime(a)).Select(a => a.ToString()).Should().BeEmpty("every answer comes within the request deadline");
        answers.Where(a => !(a.Status == 201 || a.IsOutOfStock || a.IsConflict)).Select(a => a.ToString()).Should().BeEmpty(
            "contention on one SKU is a 201, an out-of-stock 400 or a 409 with Retry-After: 1, never a 5xx");
        peak.Should().BeLessThanOrEqualTo(Budget, "each of the 3 instances stays within its pool of {0}", Pool);
        answers.Should().Contain(a => a.Status == 201);

        var allocated = await Store.ScalarAsync<long>("SELECT sum(allocated_quantity) FROM batches WHERE sku = @sku", new { sku });
        if (answers.Any(a => a.IsOutOfStock))
        {
            allocated.Should().Be(stock, "an out-of-stock answer means every unit was taken (each order takes one)");
        }

        await Ledger.ShouldBeConsistentAsync(Store, [sku]);
        await Ledger.ShouldHoldExactlyTheConfirmedAllocationsAsync(Store, [sku], answers);
        foreach (var (answer, i) in answers.Where(a => a.Status == 201).Select((a, i) => (a, i)))
        {
            var listed = await Ask.GetAsync(Instances[i % Instances.Count].Client, $"/allocations/{answer.Key}");
            listed.Status.Should().Be(200, listed.ToString());
            var batchRef = JsonDocument.Parse(answer.Body).RootElement.GetProperty("batchref").GetString();
            JsonDocument.Parse(listed.Body).RootElement.EnumerateArray()
                .Select(e => (e.GetProperty("sku").GetString(), e.GetProperty("batchref").GetString()))
                .Should().Equal((sku, batchRef));
        }
    }

    [Test]
    public async Task Seeding_200_batches_concurrently_over_three_instances_is_all_201()
    {
        const int batches = 200;
        var seeds = Enumerable.Range(0, batches).Select(_ => (Ref: Unique.BatchRef("seed"), Sku: Unique.Sku("seed"))).ToArray();

        await using var sampler = await ConnectionSampler.StartAsync(Cluster);
        var answers = await Task.WhenAll(seeds.Select((seed, i) =>
            Ask.AddBatchAsync(Instances[i % Instances.Count].Client, seed.Ref, seed.Sku, 10, i % 2 == 0 ? null : "2030-01-01")));
        var peak = await sampler.StopAsync();

        TestContext.Progress.WriteLine(
            $"fleet seeding, {batches} concurrent add_batch over 3 instances: {Answer.Summary(answers)}; " +
            $"peak client backends {peak} (budget {Budget}, {sampler.Samples} samples)");
        answers.Where(a => !InTime(a)).Select(a => a.ToString()).Should().BeEmpty("every answer comes within the request deadline");
        answers.Where(a => a.Status != 201).Select(a => a.ToString()).Should().BeEmpty("new batches of distinct SKUs contend for nothing but connections");
        peak.Should().BeLessThanOrEqualTo(Budget, "each of the 3 instances stays within its pool of {0}", Pool);
        var refs = seeds.Select(s => s.Ref).ToArray();
        (await Store.ScalarAsync<long>("SELECT count(*) FROM batches WHERE reference = ANY(@refs)", new { refs })).Should().Be(batches);
    }
}
