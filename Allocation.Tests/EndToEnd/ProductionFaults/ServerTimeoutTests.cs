using Allocation.Tests.Support;
using Npgsql;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// Issue 7, row 4: the server has lock_timeout or statement_timeout set (SQLSTATE 55P03 / 57014)
/// and someone else holds the product's row lock. The service gives a retryable problem within
/// its deadline, never a 500 or 504, and writes nothing.
/// </summary>
public class ServerTimeoutTests : FaultFixture
{
    [Test]
    public async Task With_lock_timeout_a_locked_product_gets_409_or_503_within_the_deadline_and_nothing_is_written()
    {
        var answers = await WhileTheProductIsLockedAsync("lock_timeout", "1s");

        answers.Where(a => !(a.IsConflict || a.IsUnavailable) || !InTime(a)).Select(a => a.ToString()).Should().BeEmpty(
            "a lock timeout is contention: a 409 with Retry-After: 1 (or a 503 with Retry-After: 5) within the request deadline");
    }

    [Test]
    public async Task With_statement_timeout_a_locked_product_gets_503_or_409_within_the_deadline_and_nothing_is_written()
    {
        var answers = await WhileTheProductIsLockedAsync("statement_timeout", "1s");

        answers.Where(a => !(a.IsUnavailable || a.IsConflict) || !InTime(a)).Select(a => a.ToString()).Should().BeEmpty(
            "the server's statement timeout is not the request's deadline: a 503 with Retry-After: 5 (or a 409), never a 500 or 504");
    }

    /// <summary>
    /// Sets the server setting, holds the product row of a SKU locked from a session of the test's
    /// own (as the service's first write, UPDATE products … WHERE sku = …, would wait for it), and
    /// sends an allocate and an add_batch for that SKU, one after the other. Checks that nothing was
    /// written and nothing of the service still waits; afterwards, with the lock released and the
    /// setting reset, the SKU can be allocated again.
    /// </summary>
    private async Task<List<Answer>> WhileTheProductIsLockedAsync(string setting, string value)
    {
        var sku = Unique.Sku();
        await AddStockAsync(sku, 100);
        var before = await DatabaseSnapshot.TakeAsync(Store);
        var answers = new List<Answer>();

        await Cluster.SetServerSettingAsync(setting, value);
        try
        {
            await using var holder = new NpgsqlConnection(Database.ConnectionString + ";Pooling=false");
            await holder.OpenAsync();
            await using var transaction = await holder.BeginTransactionAsync();
            await using (var lockRow = new NpgsqlCommand("SELECT version_number FROM products WHERE sku = @sku FOR UPDATE", holder, transaction))
            {
                lockRow.Parameters.AddWithValue("sku", sku);
                await lockRow.ExecuteScalarAsync();
            }

            answers.Add(await Ask.AllocateAsync(Api.Client, Unique.OrderId(), sku, phase: $"{setting}={value}"));
            answers.Add(await Ask.AddBatchAsync(Api.Client, Unique.BatchRef(), sku, 5, phase: $"{setting}={value}"));
            TestContext.Progress.WriteLine($"{setting}={value}, product row locked: {Answer.Summary(answers)}");
            foreach (var answer in answers)
            {
                TestContext.Progress.WriteLine($"  {answer}");
            }

            (await Store.ScalarAsync<long>(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
                .Should().Be(0, "after answering, nothing of the service still waits for the lock");
            (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before, "nothing was written while the product was locked");
            await transaction.RollbackAsync();
        }
        finally
        {
            await Cluster.ResetServerSettingAsync(setting);
        }

        var after = await Ask.AllocateAsync(Api.Client, Unique.OrderId(), sku, phase: "released");
        after.Status.Should().Be(201, "with the lock released and the setting reset the SKU can be allocated: {0}", after);
        await Ledger.ShouldBeConsistentAsync(Store, [sku]);
        return answers;
    }
}
