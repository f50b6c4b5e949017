using System.Diagnostics;
using System.Net;
using Allocation.Tests.EndToEnd.Observability;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// Monitoring must work when the database does not: with every server process stopped (SIGSTOP),
/// /metrics and /health/live still answer at once, and the outbox gauges keep their last sample,
/// its age saying how stale it is. A broker is configured (and absent) so that the gauges exist.
/// </summary>
public class MetricsWhileHungTests : FaultFixture
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(2);

    protected override IReadOnlyDictionary<string, string>? Settings => new Dictionary<string, string>
    {
        ["ConnectionStrings:Broker"] = $"amqp://guest:guest@127.0.0.1:{FreePort.Next()}/",
        ["Events:BacklogSampleInterval"] = "00:00:00.250",
    };

    [Test]
    public async Task Metrics_and_liveness_answer_at_once_and_the_backlog_keeps_its_last_sample()
    {
        var sku = Unique.Sku("hung-metrics");
        await AddStockAsync(sku, 10);
        var before = await ScrapeUntilAsync(m => PrometheusText.Value(m, "allocation_outbox_backlog") >= 1);
        var backlog = PrometheusText.Value(before, "allocation_outbox_backlog");

        await Cluster.SuspendAsync(everyProcess: true);
        try
        {
            for (var second = 0; second < 6; second++)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                var (status, took, _) = await TimedGetAsync("/health/live");
                status.Should().Be(HttpStatusCode.OK);
                took.Should().BeLessThan(Prompt, "liveness runs no check");
                (status, took, var metrics) = await TimedGetAsync("/metrics");
                status.Should().Be(HttpStatusCode.OK);
                took.Should().BeLessThan(Prompt, "a scrape reads memory only");
                PrometheusText.Value(metrics, "allocation_outbox_backlog").Should().Be(backlog, "the last sample is kept");
                if (second == 5)
                {
                    PrometheusText.Value(metrics, "allocation_outbox_sample_age_seconds").Should().BeGreaterThan(3, "no sample succeeded while hung");
                }
            }
        }
        finally
        {
            await Cluster.ResumeAsync();
        }

        await ScrapeUntilAsync(m => PrometheusText.Value(m, "allocation_outbox_sample_age_seconds") < 1);
    }

    private async Task<string> ScrapeUntilAsync(Func<string, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var (_, _, metrics) = await TimedGetAsync("/metrics");
            if (condition(metrics))
            {
                return metrics;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The metrics never met the condition:\n{metrics}");
            }

            await Task.Delay(100);
        }
    }

    private async Task<(HttpStatusCode Status, TimeSpan Took, string Body)> TimedGetAsync(string path)
    {
        var clock = Stopwatch.StartNew();
        using var response = await Api.Client.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, clock.Elapsed, body);
    }
}
