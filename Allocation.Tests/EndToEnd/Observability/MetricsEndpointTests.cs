using System.Net;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd.Observability;

/// <summary>
/// GET /metrics of an API process of its own (counters are per process, so the numbers are exact),
/// over a database of its own, with a broker configured that is not there: the relay cannot
/// publish, so the outbox backlog grows and the relay is Degraded.
/// </summary>
[NonParallelizable]
public class MetricsEndpointTests
{
    private TestDatabase _database = null!;
    private ApiProcess _api = null!;

    private HttpClient Client => _api.Client;

    [OneTimeSetUp]
    public async Task StartTheApi()
    {
        _database = await TestDatabase.OwnAsync();
        _api = await ApiProcess.StartAsync(_database.ServiceConnectionString, new Dictionary<string, string>
        {
            ["ConnectionStrings:Broker"] = $"amqp://guest:guest@127.0.0.1:{FreePort.Next()}/",
            ["Events:BacklogSampleInterval"] = "00:00:00.200",
        });
    }

    [OneTimeTearDown]
    public async Task StopIt()
    {
        await _api.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task Counts_allocations_by_outcome()
    {
        var sku = Unique.Sku("metrics");
        await Client.AddBatchAsync(Unique.BatchRef(), sku, 10);
        var before = await ScrapeAsync();
        var order = Unique.OrderId();

        (await Client.PostJsonAsync("/allocate", new { orderid = order, sku, qty = 2 })).StatusCode.Should().Be(HttpStatusCode.Created);
        (await Client.PostJsonAsync("/allocate", new { orderid = order, sku, qty = 2 })).StatusCode.Should().Be(HttpStatusCode.Created);
        (await Client.PostJsonAsync("/allocate", new { orderid = order, sku, qty = 3 })).StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 9 })).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku = Unique.Sku("none"), qty = 1 })).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku = Unique.Sku("none"), qty = 1 })).StatusCode.Should().Be(HttpStatusCode.BadRequest);

        var after = await ScrapeAsync();
        double Increase(string outcome) =>
            (PrometheusText.Value(after, "allocation_allocations_total", ("outcome", outcome)) ?? 0)
            - (PrometheusText.Value(before, "allocation_allocations_total", ("outcome", outcome)) ?? 0);
        Increase("allocated").Should().Be(1);
        Increase("repeated").Should().Be(1);
        Increase("conflicting_order_line").Should().Be(1);
        Increase("out_of_stock").Should().Be(1);
        Increase("invalid_sku").Should().Be(2);
        Increase("conflict_gave_up").Should().Be(0);
    }

    [Test]
    public async Task Counts_whole_orders_by_outcome()
    {
        var (chairs, lamps) = (Unique.Sku("metrics"), Unique.Sku("metrics"));
        await Client.AddBatchAsync(Unique.BatchRef(), chairs, 10);
        await Client.AddBatchAsync(Unique.BatchRef(), lamps, 2);
        var before = await ScrapeAsync();
        var (order, keyed) = (Unique.OrderId(), Unique.OrderId());

        (await AllocateOrderAsync(order, (chairs, 3), (lamps, 1))).StatusCode.Should().Be(HttpStatusCode.Created);
        (await AllocateOrderAsync(order, (chairs, 3), (lamps, 1))).IsSuccessStatusCode.Should().BeTrue();
        (await AllocateOrderAsync(order, (chairs, 3))).StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await AllocateOrderAsync(Unique.OrderId(), (chairs, 1), (lamps, 2))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await AllocateOrderAsync(Unique.OrderId(), (chairs, 1), (Unique.Sku("none"), 1))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var key = Guid.NewGuid().ToString();
        (await AllocateOrderAsync(keyed, key, (chairs, 1))).StatusCode.Should().Be(HttpStatusCode.Created);
        (await AllocateOrderAsync(keyed, key, (chairs, 1))).StatusCode.Should().Be(HttpStatusCode.Created);

        var after = await ScrapeAsync();
        double Increase(string outcome) =>
            (PrometheusText.Value(after, "allocation_orders_total", ("outcome", outcome)) ?? 0)
            - (PrometheusText.Value(before, "allocation_orders_total", ("outcome", outcome)) ?? 0);
        Increase("allocated").Should().Be(2);
        Increase("repeated").Should().Be(1);
        Increase("replayed").Should().Be(1);
        Increase("conflicting_order").Should().Be(1);
        Increase("out_of_stock").Should().Be(1);
        Increase("invalid_sku").Should().Be(1);
        Increase("conflict_gave_up").Should().Be(0);
    }

    [Test]
    public async Task Has_request_durations_per_route_and_the_database_pool()
    {
        var sku = Unique.Sku("route");
        await Client.AddBatchAsync(Unique.BatchRef(), sku, 10);
        (await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 })).StatusCode.Should().Be(HttpStatusCode.Created);

        var metrics = await ScrapeAsync();

        PrometheusText.Value(
                metrics, "http_server_request_duration_seconds_count",
                ("http_route", "allocate"), ("http_request_method", "POST"), ("http_response_status_code", "201"))
            .Should().BeGreaterThanOrEqualTo(1);
        // Npgsql's own pool metrics, under a pool name that is not the connection string.
        PrometheusText.Samples(metrics, "db_client_connection_count")
            .Should().Contain(sample => sample.Labels["db_client_connection_pool_name"] == "allocation"
                && sample.Labels["db_client_connection_state"] == "idle");
        PrometheusText.Value(metrics, "db_client_connection_max", ("db_client_connection_pool_name", "allocation"))
            .Should().BeGreaterThan(0);
        metrics.Should().NotContain(_database.Name, "no label repeats the connection string (the migrations' connections included)");
    }

    [Test]
    public async Task Reports_the_outbox_backlog_and_its_age_while_the_broker_is_away()
    {
        var sku = Unique.Sku("backlog");
        await Client.AddBatchAsync(Unique.BatchRef(), sku, 10);
        (await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 })).StatusCode.Should().Be(HttpStatusCode.Created);
        await using var store = new Store(_database);
        var unpublished = await store.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE published_at IS NULL");
        unpublished.Should().BeGreaterThanOrEqualTo(2);

        // The gauges publish the last sample, taken every 200 ms here.
        string metrics;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            await Task.Delay(100);
            metrics = await ScrapeAsync();
        }
        while (PrometheusText.Value(metrics, "allocation_outbox_backlog") != unpublished && DateTime.UtcNow < deadline);

        PrometheusText.Value(metrics, "allocation_outbox_backlog").Should().Be(unpublished);
        PrometheusText.Value(metrics, "allocation_outbox_oldest_age_seconds").Should().BeGreaterThan(0);
        PrometheusText.Value(metrics, "allocation_outbox_sample_age_seconds").Should().BeLessThan(5);
    }

    [Test]
    public async Task Ready_reports_the_unreachable_broker_as_degraded_and_live_stays_healthy()
    {
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
        {
            using var ready = await Client.SendAsync(new HttpRequestMessage(method, "/health/ready"));
            ready.StatusCode.Should().Be(HttpStatusCode.OK);
            using var live = await Client.SendAsync(new HttpRequestMessage(method, "/health/live"));
            live.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await Client.GetStringAsync(new Uri("/health/ready", UriKind.Relative))).Should().Be("""{"status":"Degraded"}""");
        (await Client.GetStringAsync(new Uri("/health/live", UriKind.Relative))).Should().Be("""{"status":"Healthy"}""");
        (await Client.GetStringAsync(new Uri("/health", UriKind.Relative))).Should().Be("""{"status":"Degraded"}""");
        using var post = await Client.PostJsonAsync("/health/ready", new { });
        post.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
    }

    private Task<HttpResponseMessage> AllocateOrderAsync(string orderId, params (string Sku, int Qty)[] lines) =>
        AllocateOrderAsync(orderId, idempotencyKey: null, lines);

    private async Task<HttpResponseMessage> AllocateOrderAsync(string orderId, string? idempotencyKey, params (string Sku, int Qty)[] lines)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/orders/{Uri.EscapeDataString(orderId)}/allocation", UriKind.Relative))
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { lines = lines.Select(l => new { sku = l.Sku, qty = l.Qty }) }),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await Client.SendAsync(request);
    }

    private async Task<string> ScrapeAsync()
    {
        using var response = await Client.GetAsync(new Uri("/metrics", UriKind.Relative));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.Content.ReadAsStringAsync();
    }
}
