using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

public class EventFeedEndpointTests : ApiFixture
{
    /// <summary>Walks the feed to its end from <paramref name="after"/>, returning this SKU's events and the last cursor.</summary>
    private async Task<(List<JsonElement> Events, string? Cursor)> WalkAsync(string? after, string sku, int limit = 50)
    {
        var events = new List<JsonElement>();
        while (true)
        {
            var query = after is null ? $"/events?limit={limit}" : $"/events?after={after}&limit={limit}";
            var page = await (await Client.GetAsync(new Uri(query, UriKind.Relative))).ShouldBeJsonAsync(HttpStatusCode.OK);
            var batch = page.GetProperty("events").EnumerateArray().ToList();
            if (batch.Count == 0)
            {
                page.GetProperty("cursor").GetString().Should().Be(after, "an empty page hands back the cursor it was given");
                return (events, after);
            }

            batch.Count.Should().BeLessThanOrEqualTo(limit);
            events.AddRange(batch.Where(e => e.GetProperty("subject").GetString() == sku));
            after = page.GetProperty("cursor").GetString();
            after.Should().Be(batch[^1].GetProperty("position").GetString());
        }
    }

    /// <summary>
    /// Walks again until <paramref name="count"/> events of the SKU are in: a transaction open
    /// anywhere on the server (other tests run alongside) holds newer events back for a moment.
    /// </summary>
    private async Task<List<JsonElement>> WalkUntilAsync(string? after, string sku, int count, int limit = 50)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var (events, _) = await WalkAsync(after, sku, limit);
            if (events.Count >= count || DateTime.UtcNow > deadline)
            {
                return events;
            }

            await Task.Delay(20);
        }
    }

    [Test]
    public async Task The_feed_serves_each_use_case_as_cloud_events_in_sku_order()
    {
        var (start, _) = (await WalkAsync(null, "none"), 0);
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        var order = Unique.OrderId();
        await Client.AddBatchAsync(batch, sku, 5, "2027-03-01");
        await Client.PostJsonAsync("/allocate", new { orderid = order, sku, qty = 2 });
        await Client.PostJsonAsync("/allocate", new { orderid = order, sku, qty = 2 });
        await Client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 9 });
        (await Client.PatchAsync(new Uri($"/batches/{batch}", UriKind.Relative), JsonContent.Create(new { qty = 1 })))
            .StatusCode.Should().Be(HttpStatusCode.OK);

        var events = await WalkUntilAsync(start.Cursor, sku, 6, limit: 2);

        events.Select(e => e.GetProperty("type").GetString()).Should().Equal(
            "allocation.batch.created",
            "allocation.line.allocated",
            "allocation.out_of_stock",
            "allocation.batch.changed",
            "allocation.line.deallocated",
            "allocation.out_of_stock");
        events.Select(e => e.GetProperty("skusequence").GetInt64()).Should().Equal(1, 2, 3, 4, 5, 6);
        events.Select(e => e.GetProperty("id").GetString()).Should().OnlyHaveUniqueItems();
        var allocated = events[1];
        allocated.EnumerateObject().Select(p => p.Name).Should().Equal(
            "specversion", "id", "source", "type", "time", "subject", "datacontenttype", "skusequence", "position", "data");
        allocated.GetProperty("specversion").GetString().Should().Be("1.0");
        allocated.GetProperty("source").GetString().Should().Be("/allocation");
        allocated.GetProperty("datacontenttype").GetString().Should().Be("application/json");
        DateTimeOffset.Parse(allocated.GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        allocated.GetProperty("data").GetRawText().Should().Be($$"""{"orderid":"{{order}}","sku":"{{sku}}","qty":2,"batchref":"{{batch}}"}""");
        events[4].GetProperty("data").GetProperty("reason").GetString().Should().Be("batch_reduced");
    }

    [Test]
    public async Task Reading_on_from_the_last_cursor_returns_nothing_new_until_something_happens()
    {
        var (_, cursor) = await WalkAsync(null, "none");
        var sku = Unique.Sku();

        (await WalkAsync(cursor, sku)).Events.Should().BeEmpty();
        await Client.AddBatchAsync(Unique.BatchRef(), sku, 1);

        (await WalkUntilAsync(cursor, sku, 1)).Should().ContainSingle();
    }

    [Test]
    public async Task A_cursor_ahead_of_anything_the_feed_can_have_served_is_a_400()
    {
        // The example, and one past each bound: a transaction not ended yet (the snapshot's
        // xmax is the next transaction id), an event number not handed out yet.
        var (_, cursor) = await WalkAsync(null, "none");
        var served = cursor ?? "0-0";
        var servedTransaction = served.Split('-')[0];
        var nextTransaction = await Store.ScalarAsync<long>("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint");
        var nextEvent = await Store.ScalarAsync<long>(
            "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('outbox', 'id')::regclass), 0) + @Ahead", new { Ahead = 1000 });

        foreach (var ahead in new[] { "999999999-1", $"{nextTransaction + 1000}-1", $"{servedTransaction}-{nextEvent}" })
        {
            using var response = await Client.GetAsync(new Uri($"/events?after={ahead}", UriKind.Relative));
            var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, Allocation.Api.Errors.ProblemTypes.Validation);
            problem.GetProperty("errors").GetProperty("after")[0].GetString()
                .Should().Be("'after' must be a cursor this feed returned.", $"{ahead} was never served");
        }
    }

    [Test]
    public async Task A_cursor_the_feed_served_still_works_after_its_events_are_pruned()
    {
        var (_, start) = await WalkAsync(null, "none");
        var sku = Unique.Sku();
        await Client.AddBatchAsync(Unique.BatchRef(), sku, 1);
        var position = (await WalkUntilAsync(start, sku, 1)).Single().GetProperty("position").GetString();
        // Retention deletes old rows; only this test's row here, the database is shared.
        await Store.ScalarAsync<long>(
            "WITH pruned AS (DELETE FROM outbox WHERE subject = @Sku RETURNING 1) SELECT count(*) FROM pruned", new { Sku = sku });

        var page = await (await Client.GetAsync(new Uri($"/events?after={position}", UriKind.Relative))).ShouldBeJsonAsync(HttpStatusCode.OK);
        page.GetProperty("events").EnumerateArray().Should().NotContain(e => e.GetProperty("subject").GetString() == sku);
    }
}

