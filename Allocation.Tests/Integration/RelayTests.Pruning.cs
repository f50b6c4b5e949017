using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;
using Microsoft.Extensions.Options;

namespace Allocation.Tests.Integration;

/// <summary>Retention: what goes after Events:Retention, with a broker and without.</summary>
public partial class RelayTests
{
    [TestCase(true, TestName = "Pruning_with_a_broker_deletes_only_published_events_past_the_retention")]
    [TestCase(false, TestName = "Pruning_without_a_broker_deletes_every_event_past_the_retention")]
    public async Task Pruning(bool publishedOnly)
    {
        var ds = _database.DataSource;
        var eightDays = TimeSpan.FromDays(8);
        var oldPublished = await RelayOutbox.InsertAsync(ds, Support.Unique.Sku(), 5, age: eightDays, published: true);
        var oldWaiting = await RelayOutbox.InsertAsync(ds, Support.Unique.Sku(), 2, age: eightDays);
        var young = (await RelayOutbox.InsertAsync(ds, Support.Unique.Sku(), 2, age: TimeSpan.FromDays(6), published: true))
            .Concat(await RelayOutbox.InsertAsync(ds, Support.Unique.Sku(), 1)).ToList();
        // Batches of two: five expired events take three statements, all in one round.
        var options = Options.Create(new EventsOptions { Retention = TimeSpan.FromDays(7), PruneBatchSize = 2 });
        var pruner = new OutboxPruner(new OutboxStore(ds), options, publishedOnly, new ListLogger<OutboxPruner>());

        var deleted = await pruner.PruneExpiredAsync(CancellationToken.None);

        var kept = publishedOnly ? oldWaiting.Concat(young) : young;
        deleted.Should().Be(publishedOnly ? 5 : 7);
        (await RelayOutbox.QueryAsync<Guid>(ds, "SELECT event_id FROM outbox")).Should().BeEquivalentTo(kept);
        (await pruner.PruneExpiredAsync(CancellationToken.None)).Should().Be(0, "nothing else has expired");
        oldPublished.Should().HaveCount(5);
    }

    [Test]
    public async Task Pruning_deletes_idempotency_keys_past_their_expiry_and_keeps_the_rest()
    {
        var ds = _database.DataSource;
        var (expired, live) = (Support.Unique.OrderId("expired"), Support.Unique.OrderId("live"));
        await using (var insert = ds.CreateCommand(
            "INSERT INTO idempotency_keys (caller, key, request_hash, answer, expires_at) " +
            "SELECT 'client:it', k, '\\x00', '\"a\"', now() + e FROM unnest(@keys, @expiries) AS t(k, e)"))
        {
            insert.Parameters.AddWithValue("keys", new[] { expired + "-1", expired + "-2", expired + "-3", live });
            insert.Parameters.AddWithValue("expiries", new[] { TimeSpan.FromHours(-1), TimeSpan.FromSeconds(-1), TimeSpan.FromDays(-2), TimeSpan.FromHours(1) });
            await insert.ExecuteNonQueryAsync();
        }

        var options = Options.Create(new EventsOptions { PruneBatchSize = 2 });
        var pruner = new OutboxPruner(new OutboxStore(ds), options, publishedOnly: true, new ListLogger<OutboxPruner>());

        (await pruner.PruneExpiredKeysAsync(CancellationToken.None)).Should().Be(3);
        (await RelayOutbox.QueryAsync<string>(ds, "SELECT key FROM idempotency_keys")).Should().Equal(live);
    }
}
