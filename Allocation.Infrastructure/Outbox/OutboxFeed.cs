using System.Text.Json;
using Allocation.Application.Events;
using Allocation.Infrastructure.Persistence;
using Dapper;
using Npgsql;

namespace Allocation.Infrastructure.Outbox;

/// <summary>The event feed, read straight from the outbox.</summary>
internal sealed class OutboxFeed(NpgsqlDataSource dataSource) : IEventFeed
{
    /// <summary>
    /// Ids are handed out at insert, so a transaction that inserted early and commits late would put
    /// an event behind the cursor of a reader who had already read on. So the feed is ordered by the
    /// writing transaction's id first, and serves a row only once every transaction with a smaller id
    /// has ended (the snapshot's xmin): after that, nothing can commit with a smaller (txid, id).
    /// Within one SKU, txid order is commit order: writers of a SKU queue on its row lock, and one
    /// that waited loses the version check and retries in a newer transaction. (ORDER BY names the
    /// table's columns: a bare name there would match an output alias first.)
    /// </summary>
    private const string After = """
        SELECT id AS EventNumber, txid::text::bigint AS TransactionId, event_id AS EventId, type AS Type,
               subject AS Subject, sku_sequence AS SkuSequence, occurred_at AS Time, data::text AS Data
        FROM outbox
        WHERE (txid, id) > (@AfterTransaction::text::xid8, @AfterEvent)
          AND txid < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY outbox.txid, outbox.id
        LIMIT @Limit
        """;

    /// <summary>
    /// Whether a position can have been served: every event served had a transaction id below the
    /// snapshot's xmin at the time, which never goes down, and an event number the outbox's sequence
    /// had handed out, which never goes back either (pruning deletes rows, not sequence values). So a
    /// position served once passes for ever, its events pruned or not, and one at or beyond either
    /// bound was never served.
    /// </summary>
    private const string CouldHaveServed = """
        SELECT @AfterTransaction::text::xid8 < pg_snapshot_xmin(pg_current_snapshot())
           AND @AfterEvent <= coalesce(pg_sequence_last_value('outbox_id_seq'::regclass), 0)
            OR (@AfterTransaction = 0 AND @AfterEvent = 0)
        """;

    public Task<IReadOnlyList<FeedEvent>> ReadAfterAsync(FeedPosition? after, int limit, CancellationToken cancellationToken) =>
        StoreErrors.RunAsync(dataSource, token => ReadAsync(after ?? default, limit, token), cancellationToken);

    private async Task<IReadOnlyList<FeedEvent>> ReadAsync(FeedPosition after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var parameters = new { AfterTransaction = after.TransactionId, AfterEvent = after.EventNumber, Limit = limit };
        // Both in one round trip. A position beyond the feed could still have rows after it (a made-up
        // event number with a served transaction id), so it is checked whatever the page holds.
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(
            CouldHaveServed + ";\n" + After, parameters, cancellationToken: cancellationToken));
        if (!await results.ReadSingleAsync<bool>())
        {
            throw new UnknownFeedPosition(after);
        }

        var rows = await results.ReadAsync<Row>();
        return rows.Select(row => new FeedEvent(
                row.EventId,
                row.Type,
                row.Subject,
                row.SkuSequence,
                new DateTimeOffset(DateTime.SpecifyKind(row.Time, DateTimeKind.Utc)),
                ParseData(row.Data),
                new FeedPosition(row.TransactionId, row.EventNumber)))
            .ToList();
    }

    private static JsonElement ParseData(string data)
    {
        using var document = JsonDocument.Parse(data);
        return document.RootElement.Clone();
    }

    private sealed class Row
    {
        public long EventNumber { get; init; }

        public long TransactionId { get; init; }

        public Guid EventId { get; init; }

        public string Type { get; init; } = "";

        public string Subject { get; init; } = "";

        public long SkuSequence { get; init; }

        public DateTime Time { get; init; }

        public string Data { get; init; } = "";
    }
}
