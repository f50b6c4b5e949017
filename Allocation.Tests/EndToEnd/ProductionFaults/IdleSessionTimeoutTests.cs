using Allocation.Tests.Support;
using Npgsql;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// Issue 7, row 5: the server's idle_session_timeout closes the pooled connections while they sit
/// idle (SQLSTATE 57P05). A broken idle connection is never the caller's problem: the next
/// requests succeed.
/// </summary>
public class IdleSessionTimeoutTests : FaultFixture
{
    private const string IdleSessionTimeout = "idle_session_timeout";

    [Test]
    public async Task Requests_after_the_server_closed_the_idle_pooled_connections_succeed()
    {
        var sku = Unique.Sku();
        var batchRef = await AddStockAsync(sku, 10_000);
        var answers = new List<Answer>();

        await Cluster.SetServerSettingAsync(IdleSessionTimeout, "1s");
        try
        {
            // Sessions idle since before the reload apply the setting only after their next command.
            var since = await Cluster.ServerTimeAsync();
            for (var round = 1; round <= 3; round++)
            {
                // A burst fills the pool with several connections; they then sit idle past the timeout.
                var burst = await Task.WhenAll(Enumerable.Range(0, 8).SelectMany(_ => new[]
                {
                    Ask.AllocateAsync(Api.Client, Unique.OrderId(), sku, phase: $"round {round}"),
                    Ask.GetAsync(Api.Client, $"/batches/{batchRef}", $"round {round}"),
                }));
                answers.AddRange(burst);
                var pooled = await SessionsUsedSinceAsync(since);
                await Task.Delay(TimeSpan.FromSeconds(2.5));
                var left = (await SessionsUsedSinceAsync(since)).Intersect(pooled).Count();
                TestContext.Progress.WriteLine(
                    $"idle_session_timeout=1s, round {round}: {Answer.Summary(burst)}; {pooled.Count} pooled sessions after the burst, {left} of them left after 2.5 s idle");
                pooled.Should().NotBeEmpty("the pool kept connections after the burst");
                left.Should().Be(0, "the server closed every idle session: the fault is in place");
            }

            var single = await Ask.AllocateAsync(Api.Client, Unique.OrderId(), sku, phase: "single");
            answers.Add(single);
            await Task.Delay(TimeSpan.FromSeconds(2.5));
            answers.Add(await Ask.GetAsync(Api.Client, $"/batches/{batchRef}", "single"));
        }
        finally
        {
            await Cluster.ResetServerSettingAsync(IdleSessionTimeout);
        }

        TestContext.Progress.WriteLine($"idle_session_timeout=1s, all requests: {Answer.Summary(answers)}");
        answers.Where(a => !InTime(a)).Select(a => a.ToString()).Should().BeEmpty("every answer comes within the request deadline");
        answers.Where(a => !a.IsSuccess).Select(a => a.ToString()).Should().BeEmpty("a connection the server closed while idle is not the caller's problem");
        Database.DataSource.Clear(); // the tests' own idle connections were closed too
        await Ledger.ShouldBeConsistentAsync(Store, [sku]);
        await Ledger.ShouldHoldExactlyTheConfirmedAllocationsAsync(Store, [sku], answers.Where(a => a.Action == "/allocate"));
    }

    /// <summary>The process ids of the sessions on the test database that ran a command since <paramref name="since"/> (server time).</summary>
    private async Task<List<int>> SessionsUsedSinceAsync(DateTime since)
    {
        await using var connection = new NpgsqlConnection(Cluster.AdminConnectionString);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = @database AND state_change > @since",
            connection);
        query.Parameters.AddWithValue("database", Database.Name);
        query.Parameters.AddWithValue("since", since);
        var pids = new List<int>();
        await using var reader = await query.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
    }
}
