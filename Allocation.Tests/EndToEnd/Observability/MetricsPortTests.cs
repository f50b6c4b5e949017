using System.Net;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd.Observability;

/// <summary>
/// Metrics:Port: the service also listens on that port and serves /metrics there only, so an
/// operator can keep the metrics off the public address.
/// </summary>
[NonParallelizable]
public class MetricsPortTests
{
    private TestDatabase _database = null!;
    private ApiProcess _api = null!;
    private HttpClient _metricsPort = null!;
    private int _port;

    [OneTimeSetUp]
    public async Task StartTheApiWithAMetricsPort()
    {
        _database = await TestDatabase.OwnAsync();
        _port = FreePort.Next();
        _api = await ApiProcess.StartAsync(_database.ServiceConnectionString, new Dictionary<string, string>
        {
            ["Metrics:Port"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        _metricsPort = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
    }

    [OneTimeTearDown]
    public async Task StopIt()
    {
        _metricsPort.Dispose();
        await _api.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task Serves_the_metrics_on_the_metrics_port()
    {
        var sku = Unique.Sku("port");
        await _api.Client.AddBatchAsync(Unique.BatchRef(), sku, 5);
        (await _api.Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 })).StatusCode.Should().Be(HttpStatusCode.Created);

        using var response = await _metricsPort.GetAsync(new Uri("/metrics", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var metrics = await response.Content.ReadAsStringAsync();
        PrometheusText.Value(metrics, "allocation_allocations_total", ("outcome", "allocated")).Should().Be(1);
    }

    [Test]
    public async Task Does_not_serve_the_metrics_on_the_service_port_whatever_the_host_header_says()
    {
        using var plain = await _api.Client.GetAsync(new Uri("/metrics", UriKind.Relative));
        plain.StatusCode.Should().Be(HttpStatusCode.NotFound);

        using var spoofed = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        spoofed.Headers.Host = $"127.0.0.1:{_port}";
        using var answer = await _api.Client.SendAsync(spoofed);
        answer.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await answer.Content.ReadAsStringAsync()).Should().NotContain("allocation_");
    }
}
