using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// Issue 17: with a synchronous standby, a COMMIT waits for the standby's confirmation. When that wait
/// is cancelled (here the service's command timeout, as when the standby is lost), PostgreSQL keeps the
/// commit on the primary and says so only in a WARNING; the COMMIT itself reports success. A 201 must
/// mean the commit is on the standby too, so such a commit is answered 503 (outcome unknown), not 201.
/// The standby that never confirms is one named in synchronous_standby_names that does not exist.
/// </summary>
public class UnconfirmedReplicationTests : FaultFixture
{
    private const string SynchronousStandbys = "synchronous_standby_names";

    [Test]
    public async Task A_commit_the_synchronous_standby_never_confirmed_is_a_503_not_a_success()
    {
        var existingSku = Unique.Sku();
        await AddStockAsync(existingSku, 100);
        var orderId = Unique.OrderId();
        var newSku = Unique.Sku("new");
        var newBatch = Unique.BatchRef();

        Answer[] answers;
        await Cluster.SetServerSettingAsync(SynchronousStandbys, "ghost_standby");
        try
        {
            (await Store.ScalarAsync<string>($"SHOW {SynchronousStandbys}")).Should().Be("ghost_standby", "the fault is in place");
            // Both commit paths: an allocation's one-statement commit, and a new SKU's several statements then COMMIT.
            answers = await Task.WhenAll(
                Ask.AllocateAsync(Api.Client, orderId, existingSku, phase: "unconfirmed"),
                Ask.AddBatchAsync(Api.Client, newBatch, newSku, 5, phase: "unconfirmed"));
            TestContext.Progress.WriteLine($"standby never confirms: {Answer.Summary(answers)}");
        }
        finally
        {
            await Cluster.ResetServerSettingAsync(SynchronousStandbys);
        }

        answers.Where(a => !a.IsUnavailable).Select(a => a.ToString()).Should()
            .BeEmpty("a commit the standby never confirmed is not a success: 503 with Retry-After");
        answers.Should().OnlyContain(a => InTime(a));
        // The hazard was real: the primary kept both commits, which a failover at that moment would have lost.
        (await Store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @orderId", new { orderId }))
            .Should().Be(1, "PostgreSQL keeps a commit whose wait was cancelled");
        (await Store.ScalarAsync<long>("SELECT count(*) FROM batches WHERE reference = @newBatch", new { newBatch }))
            .Should().Be(1);

        var afterwards = await Ask.AllocateAsync(Api.Client, Unique.OrderId(), existingSku, phase: "confirmed");
        afterwards.Status.Should().Be(201, "with the standby setting gone, commits succeed again: {0}", afterwards);
        await Ledger.ShouldBeConsistentAsync(Store, [existingSku, newSku]);
    }
}
