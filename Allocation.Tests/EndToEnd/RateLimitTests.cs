using System.Net;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Per-caller limits, set tiny here (3 writes and 5 reads a minute) so that a few requests cross
/// them. Each test starts its own API: the buckets live in the process.
/// </summary>
public class RateLimitTests
{
    private static readonly Dictionary<string, string?> TinyLimits = new()
    {
        ["RateLimits:Write:PermitLimit"] = "3",
        ["RateLimits:Write:Window"] = "00:01:00",
        ["RateLimits:Read:PermitLimit"] = "5",
        ["RateLimits:Read:Window"] = "00:01:00",
    };

    private TestDatabase _database = null!;
    private Store _store = null!;

    [OneTimeSetUp]
    public async Task OpenTheStore()
    {
        _database = await TestDatabase.SharedAsync();
        _store = new Store(_database);
    }

    [OneTimeTearDown]
    public async Task CloseTheStore() => await _store.DisposeAsync();

    [Test]
    public async Task A_write_over_the_limit_is_429_with_retry_after_and_changes_nothing()
    {
        await using var api = ApiFactory.Start(_database.ConnectionString, TinyLimits);
        using var client = api.CreateClient();
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        await client.AddBatchAsync(batch, sku, 100);
        (await client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId("1"), sku, qty = 1 })).StatusCode.Should().Be(HttpStatusCode.Created);
        (await client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId("2"), sku, qty = 1 })).StatusCode.Should().Be(HttpStatusCode.Created);

        var refusedOrder = Unique.OrderId("refused");
        using var refused = await client.PostJsonAsync("/allocate", new { orderid = refusedOrder, sku, qty = 1 });

        var problem = await refused.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests, ProblemTypes.TooManyRequests);
        problem.GetProperty("detail").GetString().Should().Contain("3 writes per 60 s");
        var retryAfter = int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        retryAfter.Should().BeInRange(1, 60);
        (await _store.ScalarAsync<long>("SELECT count(*) FROM order_lines WHERE orderid = @refusedOrder", new { refusedOrder }))
            .Should().Be(0);
        (await _store.ScalarAsync<int>("SELECT allocated_quantity FROM batches WHERE reference = @batch", new { batch }))
            .Should().Be(2, "only the two allowed allocations reached the database");
    }

    [Test]
    public async Task Reads_and_writes_are_counted_apart_and_health_is_not_limited()
    {
        await using var api = ApiFactory.Start(_database.ConnectionString, TinyLimits);
        using var client = api.CreateClient();
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        for (var write = 0; write < 3; write++)
        {
            await client.AddBatchAsync($"{batch}-{write}", sku, 10);
        }

        (await client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 })).StatusCode
            .Should().Be(HttpStatusCode.TooManyRequests, "the writes are used up");
        for (var read = 0; read < 5; read++)
        {
            (await client.GetAsync($"/batches/{batch}-0")).StatusCode.Should().Be(HttpStatusCode.OK, "reads have a bucket of their own");
        }

        using var sixthRead = await client.GetAsync($"/batches/{batch}-0");
        await sixthRead.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests, ProblemTypes.TooManyRequests);
        for (var probe = 0; probe < 20; probe++)
        {
            (await client.GetAsync("/health")).StatusCode.Should().Be(HttpStatusCode.OK, "health checks are not limited");
        }
    }
}
