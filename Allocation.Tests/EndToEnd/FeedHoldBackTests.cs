using System.Net;
using System.Text.Json;
using Allocation.Tests.EndToEnd.Observability;
using Allocation.Tests.Support;
using Npgsql;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// A transaction left open anywhere on the cluster holds the feed back (it serves an event only once
/// every older transaction has ended). That must be visible: the allocation.feed.* gauges, and the
/// "feed" health check Degraded with the reason once an event has been held longer than
/// Events:FeedHeldDegradedAfter. On a private cluster, so that no other fixture's transactions count,
/// and as a process of its own, so that its gauges are its own (a test process's hosts share meters
/// by name) and the reason is read where an operator reads it: the health check's warning in the log.
/// </summary>
[NonParallelizable]
public class FeedHoldBackTests
{
    private TestDatabase _database = null!;
    private ApiProcess _api = null!;
    private HttpClient _client = null!;

    [OneTimeSetUp]
    public async Task StartTheApiOnAClusterOfItsOwn()
    {
        _database = await TestDatabase.CreateAsync(privateCluster: true, durable: false);
        _api = await ApiProcess.StartAsync(_database.ConnectionString, new Dictionary<string, string>
        {
            ["Events:FeedHeldDegradedAfter"] = "00:00:01",
            ["Events:FeedSampleInterval"] = "00:00:00.200",
        });
        _client = _api.Client;
    }

    [OneTimeTearDown]
    public async Task StopIt()
    {
        await _api.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Test]
    public async Task A_transaction_open_in_another_database_holds_the_feed_back_visibly_until_it_ends()
    {
        var start = await EndOfFeedAsync();
        await using var other = new NpgsqlConnection(_database.Cluster!.ConnectionString("postgres"));
        await other.OpenAsync();
        await using var open = await other.BeginTransactionAsync();
        await using (var xid = new NpgsqlCommand("SELECT pg_current_xact_id()", other, open))
        {
            await xid.ExecuteScalarAsync();
        }

        var sku = Unique.Sku();
        await _client.AddBatchAsync(Unique.BatchRef(), sku, 1);
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        (await EventsAfterAsync(start, sku)).Should().BeEmpty("the open transaction is older than the event");
        (await _client.GetStringAsync(new Uri("/health", UriKind.Relative))).Should().Be("""{"status":"Degraded"}""");
        var reason = _api.Output.Split('\n').Where(line => line.Contains("Health check feed with status Degraded", StringComparison.Ordinal)).ToList();
        reason.Should().NotBeEmpty(_api.Output);
        reason[^1].Should().Contain("holds back 1 committed event(s)")
            .And.Contain($"pid {other.ProcessID}, database postgres, idle in transaction")
            .And.Contain("idle_in_transaction_session_timeout");
        var metrics = await ScrapeUntilAsync(m => PrometheusText.Value(m, "allocation_feed_held_back") == 1);
        PrometheusText.Value(metrics, "allocation_feed_held_back_age_seconds").Should().BeGreaterThan(1, FeedLines(metrics));

        await open.RollbackAsync();

        (await EventsAfterAsync(start, sku)).Should().ContainSingle("the event appears once the transaction ends");
        (await _client.GetStringAsync(new Uri("/health", UriKind.Relative))).Should().Be("""{"status":"Healthy"}""");
        metrics = await ScrapeUntilAsync(m => PrometheusText.Value(m, "allocation_feed_held_back") == 0);
        PrometheusText.Value(metrics, "allocation_feed_held_back_age_seconds").Should().Be(0, FeedLines(metrics));
    }

    private static string FeedLines(string metrics) =>
        string.Join('\n', metrics.Split('\n').Where(line => line.Contains("allocation_feed", StringComparison.Ordinal)));

    private async Task<string?> EndOfFeedAsync()
    {
        string? cursor = null;
        while (true)
        {
            var page = await GetPageAsync(cursor);
            if (page.GetProperty("events").GetArrayLength() == 0)
            {
                return cursor;
            }

            cursor = page.GetProperty("cursor").GetString();
        }
    }

    private async Task<List<JsonElement>> EventsAfterAsync(string? after, string sku)
    {
        var page = await GetPageAsync(after);
        return [.. page.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("subject").GetString() == sku)];
    }

    private async Task<JsonElement> GetPageAsync(string? after) =>
        await (await _client.GetAsync(new Uri(after is null ? "/events?limit=1000" : $"/events?limit=1000&after={after}", UriKind.Relative)))
            .ShouldBeJsonAsync(HttpStatusCode.OK);

    private async Task<string> ScrapeUntilAsync(Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var metrics = await _client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            if (done(metrics) || DateTime.UtcNow > deadline)
            {
                return metrics;
            }

            await Task.Delay(100);
        }
    }
}
