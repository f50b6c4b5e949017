using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// Issue 7, row 3: the server turns read-only, as a demoted primary does after a failover
/// (SQLSTATE 25006 on every write). Writes answer 503 with Retry-After, reads keep working,
/// nothing is written, and writes work again once the server is writable, without a restart.
/// </summary>
public class ReadOnlyFailoverTests : FaultFixture
{
    private const string ReadOnly = "default_transaction_read_only";

    [Test]
    public async Task On_a_read_only_server_writes_get_503_reads_work_nothing_is_written_and_writes_recover_without_a_restart()
    {
        var sku = Unique.Sku();
        var batchRef = await AddStockAsync(sku, 1000);
        var orderId = await AllocateAsync(sku);
        var before = await DatabaseSnapshot.TakeAsync(Store);

        List<Answer> writes;
        List<Answer> reads;
        await Cluster.SetServerSettingAsync(ReadOnly, "on");
        try
        {
            (await Store.ScalarAsync<string>($"SHOW {ReadOnly}")).Should().Be("on", "the fault is in place");

            writes = [.. await Task.WhenAll(Enumerable.Range(0, 10)
                .Select(_ => Ask.AllocateAsync(Api.Client, Unique.OrderId(), sku, phase: "read-only"))
                .Append(Ask.AddBatchAsync(Api.Client, Unique.BatchRef(), sku, 5, phase: "read-only"))
                .Append(Ask.AddBatchAsync(Api.Client, Unique.BatchRef(), Unique.Sku("new"), 5, phase: "read-only")))];
            reads =
            [
                await Ask.GetAsync(Api.Client, $"/batches/{batchRef}", "read-only"),
                await Ask.GetAsync(Api.Client, $"/allocations/{orderId}", "read-only"),
            ];
            TestContext.Progress.WriteLine($"read-only server, writes: {Answer.Summary(writes)}; reads: {Answer.Summary(reads)}");
            (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before, "a read-only server wrote nothing");
        }
        finally
        {
            await Cluster.ResetServerSettingAsync(ReadOnly);
        }

        writes.Where(a => !a.IsUnavailable).Select(a => a.ToString()).Should().BeEmpty("a write to a read-only server is a 503 problem with Retry-After: 5");
        reads.Where(a => a.Status != 200).Select(a => a.ToString()).Should().BeEmpty("reads do not need a writable server");

        var allocate = await Ask.AllocateAsync(Api.Client, Unique.OrderId(), sku, phase: "writable");
        var addBatch = await Ask.AddBatchAsync(Api.Client, Unique.BatchRef(), sku, 5, phase: "writable");
        TestContext.Progress.WriteLine($"writable again: {allocate}; {addBatch}");
        allocate.Status.Should().Be(201, "writes work again once the server is writable, without restarting the API: {0}", allocate);
        addBatch.Status.Should().Be(201, addBatch.ToString());
        await Ledger.ShouldBeConsistentAsync(Store, [sku]);
    }
}
