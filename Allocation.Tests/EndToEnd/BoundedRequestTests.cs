using System.Net;
using System.Net.Http.Json;
using Allocation.Api.Errors;
using Allocation.Tests.Support;
using Npgsql;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Size limits, time limits and graceful shutdown. Alone: its deadlines are half a second, and it
/// starts an API process and signals it.
/// </summary>
[NonParallelizable]
public class BoundedRequestTests
{
    private TestDatabase? _database;

    /// <summary>The fixture's own database: its checks read whole tables and every lock wait in the database.</summary>
    private TestDatabase Database => _database ?? throw new InvalidOperationException("The fixture did not start.");

    [OneTimeSetUp]
    public async Task CreateTheDatabase() => _database = await TestDatabase.OwnAsync();

    [OneTimeTearDown]
    public async Task DropTheDatabase()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    private static async Task<(string Sku, string BatchRef)> AddStockAsync(HttpClient client)
    {
        var (sku, batchRef) = (Unique.Sku(), Unique.BatchRef());
        await client.AddBatchAsync(batchRef, sku, 100);
        return (sku, batchRef);
    }

    /// <summary>Holds the product's row lock, so any write to that SKU waits until disposed.</summary>
    private static async Task<HeldLock> LockProductAsync(TestDatabase database, string sku)
    {
        var connection = await database.DataSource.OpenConnectionAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand("SELECT 1 FROM products WHERE sku = @sku FOR UPDATE", connection, transaction);
        command.Parameters.AddWithValue("sku", sku);
        await command.ExecuteScalarAsync();
        return new HeldLock(connection, transaction);
    }

    /// <summary>A lock held by an open transaction; disposing rolls it back and closes its connection.</summary>
    private sealed class HeldLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public Task RollbackAsync() => transaction.RollbackAsync();

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    [Test]
    public async Task A_body_over_the_limit_is_413_and_changes_nothing()
    {
        var database = Database;
        await using var factory = ApiFactory.Start(database.ConnectionString);
        using var client = factory.CreateClient();
        await using var store = new Store(database);
        var before = await DatabaseSnapshot.TakeAsync(store);

        var response = await client.PostRawAsync("/add_batch", $$"""{"ref":"{{new string('r', 20_000)}}","sku":"s","qty":1}""");

        await response.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge, ProblemTypes.PayloadTooLarge);
        (await DatabaseSnapshot.TakeAsync(store)).Should().Be(before);
    }

    [Test]
    public async Task A_request_that_outlives_the_timeout_is_cancelled_down_to_the_database_and_answered_with_504()
    {
        var database = Database;
        await using var factory = ApiFactory.Start(database.ConnectionString, new Dictionary<string, string?>
        {
            ["Limits:RequestTimeout"] = "00:00:00.500",
            ["ConflictRetry:Budget"] = "00:00:00.250",
            ["ConflictRetry:FailoverWait"] = "00:00:00.250",
        });
        using var client = factory.CreateClient();
        var (sku, _) = await AddStockAsync(client);
        var orderId = Unique.OrderId();
        await using var store = new Store(database);

        await using (var held = await LockProductAsync(database, sku))
        {
            var response = await client.PostAsJsonAsync("/allocate", new { orderid = orderId, sku, qty = 1 });

            await response.ShouldBeProblemAsync(HttpStatusCode.GatewayTimeout, ProblemTypes.Timeout);
            // The 504 does not wait for the database to confirm the cancel (a hung server never would);
            // the cancel follows it within moments.
            var waiting = -1L;
            for (var poll = 0; poll < 40 && waiting != 0; poll++)
            {
                await Task.Delay(50);
                waiting = await store.ScalarAsync<long>(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
            }

            waiting.Should().Be(0, "the cancelled request no longer waits in the database");
            await held.RollbackAsync();
        }

        (await store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @orderId", new { orderId })).Should().Be(0);
    }

    [Test]
    public void The_service_refuses_to_start_when_contention_could_outlast_the_request_deadline()
    {
        var start = () => ApiFactory.Start("Host=127.0.0.1;Database=unused", new Dictionary<string, string?> { ["Limits:RequestTimeout"] = "00:00:02" });

        start.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().WithMessage("ConflictRetry:Budget*must be shorter than Limits:RequestTimeout*");
    }

    [Test]
    public async Task On_sigterm_the_service_finishes_requests_in_flight_and_takes_no_new_ones()
    {
        var database = Database;
        await using var api = await ApiProcess.StartAsync(database.ConnectionString);
        var (sku, batchRef) = await AddStockAsync(api.Client);
        var orderId = Unique.OrderId();

        await using var held = await LockProductAsync(database, sku);
        var inFlight = api.Client.PostAsJsonAsync("/allocate", new { orderid = orderId, sku, qty = 2 });
        await Task.Delay(500);
        api.SendSigTerm();
        await Task.Delay(500);
        inFlight.IsCompleted.Should().BeFalse("the request is still waiting for the lock");
        var refused = async () => await api.Client.GetAsync(new Uri("/health", UriKind.Relative));
        await refused.Should().ThrowAsync<HttpRequestException>("a stopping service takes no new connections");

        await held.RollbackAsync();

        using var response = await inFlight;
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("batchref").GetString().Should().Be(batchRef);
        (await api.WaitForExitAsync(TimeSpan.FromSeconds(20))).Should().BeTrue();
        api.ExitCode.Should().Be(0);
    }
}
