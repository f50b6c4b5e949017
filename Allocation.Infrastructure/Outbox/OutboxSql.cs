namespace Allocation.Infrastructure.Outbox;

/// <summary>The relay's and the pruner's statements. Each one runs alone (its own short transaction): none waits on the broker.</summary>
internal static class OutboxSql
{
    /// <summary>
    /// Claims up to @batchSize unpublished events nobody else holds, in the feed's (txid, id) order,
    /// for @lease. SKIP LOCKED lets relays of several instances claim at once, each getting other rows.
    /// The final ORDER BY names the columns, not the output aliases a bare name would match first.
    /// </summary>
    public const string Claim = """
        WITH claimed AS (
            UPDATE outbox SET claimed_until = now() + @lease
            WHERE id IN (
                SELECT id FROM outbox
                WHERE published_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
                ORDER BY txid, id
                LIMIT @batchSize
                FOR UPDATE SKIP LOCKED)
            RETURNING id, txid, event_id, type, subject, sku_sequence, occurred_at, data, traceparent, tracestate)
        SELECT id AS Id, event_id AS EventId, type AS Type, subject AS Subject, sku_sequence AS SkuSequence,
               occurred_at AS OccurredAt, data::text AS Data, traceparent AS TraceParent, tracestate AS TraceState
        FROM claimed
        ORDER BY claimed.txid, claimed.id
        """;

    /// <summary>The broker confirmed these: never publish them again.</summary>
    public const string MarkPublished = """
        UPDATE outbox SET published_at = now(), claimed_until = NULL
        WHERE id = ANY(@ids) AND published_at IS NULL
        """;

    /// <summary>The broker did not confirm these: give them back at once rather than after the lease.</summary>
    public const string Release = """
        UPDATE outbox SET claimed_until = NULL
        WHERE id = ANY(@ids) AND published_at IS NULL
        """;

    /// <summary>
    /// How long (seconds, by the database's clock) the next event to publish has waited, or no row.
    /// The partial index on unpublished rows makes this one index probe however long the backlog.
    /// </summary>
    public const string OldestUnpublishedAge = """
        SELECT extract(epoch FROM now() - occurred_at)::float8
        FROM outbox
        WHERE published_at IS NULL
        ORDER BY txid, id
        LIMIT 1
        """;

    /// <summary>
    /// The backlog for the gauges: unpublished events (the partial index on them keeps the count to
    /// the backlog itself, however big the outbox) and the oldest one's wait, as in <see cref="OldestUnpublishedAge"/>.
    /// </summary>
    public const string Backlog = """
        SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS Count,
               (SELECT extract(epoch FROM now() - occurred_at)::float8
                FROM outbox WHERE published_at IS NULL ORDER BY txid, id LIMIT 1) AS OldestAgeSeconds
        """;

    /// <summary>
    /// Deletes up to @batchSize expired events (only published ones when @publishedOnly). Ids grow with
    /// time, so the expired rows are those below the first row still inside the retention: found by
    /// walking the primary key from its start, which stops at once when nothing has expired instead
    /// of scanning a week of events for an age no index holds.
    /// </summary>
    public const string Prune = """
        DELETE FROM outbox
        WHERE id IN (
            SELECT id FROM outbox
            WHERE id < coalesce(
                    (SELECT id FROM outbox WHERE occurred_at >= now() - @retention ORDER BY id LIMIT 1),
                    9223372036854775807)
              AND (published_at IS NOT NULL OR NOT @publishedOnly)
            ORDER BY id
            LIMIT @batchSize
            FOR UPDATE SKIP LOCKED)
        """;
}
