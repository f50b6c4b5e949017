using System.Collections.Concurrent;
using Allocation.Application.Batches;
using Allocation.Application.Events;
using Allocation.Tests.Support;
using Dapper;
using Npgsql;

namespace Allocation.Tests.Integration;

/// <summary>A reader that walks the feed with the cursor it was given never misses an event, however commits interleave.</summary>
public class EventFeedTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private const string InsertEvent = """
        INSERT INTO outbox (event_id, type, subject, sku_sequence, data)
        VALUES (@Id, 'allocation.test', @Subject, 1, '{}')
        """;

    /// <summary>Reads from <paramref name="after"/> to the end of what the feed serves now, keeping only this test's subjects.</summary>
    private static async Task<FeedPosition?> WalkAsync(IEventFeed feed, FeedPosition? after, string subjectPrefix, List<Guid> seen)
    {
        while (true)
        {
            var page = await feed.ReadAfterAsync(after, 3, None);
            if (page.Count == 0)
            {
                return after;
            }

            seen.AddRange(page.Where(e => e.Subject.StartsWith(subjectPrefix, StringComparison.Ordinal)).Select(e => e.Id));
            after = page[^1].Position;
        }
    }

    /// <summary>
    /// Walks on until <paramref name="done"/> holds: any transaction open anywhere on the server (other
    /// tests run alongside) holds newer events back for a moment, which is the feed's rule, not a skip.
    /// </summary>
    private static async Task<FeedPosition?> WalkUntilAsync(
        IEventFeed feed, FeedPosition? after, string subjectPrefix, List<Guid> seen, Func<bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        after = await WalkAsync(feed, after, subjectPrefix, seen);
        while (!done() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            after = await WalkAsync(feed, after, subjectPrefix, seen);
        }

        return after;
    }

    private static async Task<(NpgsqlConnection Connection, NpgsqlTransaction Transaction)> BeginAsync(Store store)
    {
        var connection = await store.OpenAsync();
        return (connection, await connection.BeginTransactionAsync());
    }

    [Test]
    public async Task An_event_of_a_transaction_that_commits_late_is_served_before_the_ones_after_it_and_never_skipped()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var feed = store.Get<IEventFeed>();
        var prefix = Unique.Sku("feed");
        var seen = new List<Guid>();
        var cursor = await WalkAsync(feed, null, prefix, seen);
        var (slowEarly, slowLate, fast) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());

        // "early" takes its id first; "late" gets its transaction id first but inserts after "fast" did.
        var (early, earlyTx) = await BeginAsync(store);
        var (late, lateTx) = await BeginAsync(store);
        await using (early)
        await using (late)
        {
            await early.ExecuteAsync(InsertEvent, new { Id = slowEarly, Subject = prefix + "-early" }, earlyTx);
            await late.ExecuteAsync("SELECT pg_current_xact_id()", transaction: lateTx);
            await using (var quick = await store.OpenAsync())
            {
                await quick.ExecuteAsync(InsertEvent, new { Id = fast, Subject = prefix + "-fast" });
            }

            await late.ExecuteAsync(InsertEvent, new { Id = slowLate, Subject = prefix + "-late" }, lateTx);

            cursor = await WalkAsync(feed, cursor, prefix, seen);
            seen.Should().BeEmpty("the fast event committed, but transactions older than it are still running");

            await earlyTx.CommitAsync();
            cursor = await WalkUntilAsync(feed, cursor, prefix, seen, () => seen.Count > 0);
            seen.Should().Equal([slowEarly], "the fast one still waits for the late transaction, which is older");

            await lateTx.CommitAsync();
            await WalkUntilAsync(feed, cursor, prefix, seen, () => seen.Count >= 3);
        }

        seen.Should().Equal(slowEarly, slowLate, fast);
    }

    [Test]
    public async Task A_reader_walking_during_many_interleaved_slow_and_fast_commits_sees_every_event_once()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var feed = store.Get<IEventFeed>();
        var prefix = Unique.Sku("stress");
        var seen = new List<Guid>();
        var cursor = await WalkAsync(feed, null, prefix, seen);
        var committed = new ConcurrentBag<Guid>();
        using var writersDone = new CancellationTokenSource();

        var writers = Enumerable.Range(0, 6).Select(writer => Task.Run(async () =>
        {
            var random = new System.Random(writer);
            for (var i = 0; i < 15; i++)
            {
                var (connection, transaction) = await BeginAsync(store);
                await using (connection)
                {
                    var id = Guid.NewGuid();
                    await connection.ExecuteAsync(InsertEvent, new { Id = id, Subject = $"{prefix}-{writer}-{i}" }, transaction);
                    // Some commit at once, some hold their row back while others commit past it.
                    await Task.Delay(random.Next(4) == 0 ? random.Next(20, 80) : 0);
                    if (random.Next(10) == 0)
                    {
                        await transaction.RollbackAsync();
                        continue;
                    }

                    await transaction.CommitAsync();
                    committed.Add(id);
                }
            }
        })).ToArray();
        var reader = Task.Run(async () =>
        {
            while (!writersDone.IsCancellationRequested)
            {
                cursor = await WalkAsync(feed, cursor, prefix, seen);
                await Task.Delay(2);
            }

            await WalkUntilAsync(feed, cursor, prefix, seen, () => seen.Count >= committed.Count);
        });

        await Task.WhenAll(writers);
        await writersDone.CancelAsync();
        await reader;

        seen.Should().OnlyHaveUniqueItems();
        seen.Should().BeEquivalentTo(committed);
        committed.Should().HaveCountGreaterThan(60);
    }

    [Test]
    public async Task The_feed_serves_a_use_cases_events_in_their_sku_order()
    {
        await using var store = new Store(await TestDatabase.SharedAsync());
        var feed = store.Get<IEventFeed>();
        var sku = Unique.Sku();
        var start = await WalkAsync(feed, null, sku, []);
        var batches = store.Get<BatchService>();
        await batches.AddBatchAsync(Unique.BatchRef("a"), sku, 1, null, None);
        await batches.AddBatchAsync(Unique.BatchRef("b"), sku, 1, null, None);
        var seen = new List<Guid>();
        await WalkUntilAsync(feed, start, sku, seen, () => seen.Count >= 2);

        var page = (await feed.ReadAfterAsync(start, 1000, None)).Where(e => e.Subject == sku).ToList();

        page.Select(e => (e.Type, e.SkuSequence)).Should().Equal(("allocation.batch.created", 1), ("allocation.batch.created", 2));
        page.Select(e => e.Position).Should().BeInAscendingOrder(Comparer<FeedPosition>.Create(
            (x, y) => (x.TransactionId, x.EventNumber).CompareTo((y.TransactionId, y.EventNumber))));
        page[0].Data.GetProperty("qty").GetInt32().Should().Be(1);
    }
}
