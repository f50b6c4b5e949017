using Allocation.Application.Idempotency;
using Dapper;
using Npgsql;

namespace Allocation.Infrastructure.Persistence;

/// <summary>How long a stored Idempotency-Key answers repeats, and how expired ones are deleted.</summary>
public sealed class IdempotencyOptions
{
    public const string SectionName = "Idempotency";

    /// <summary>A repeat within this long of the first request gets its answer; after it, the key is new again.</summary>
    /// <remarks>Expired keys are deleted in the outbox pruner's rounds (Events:PruneInterval, Events:PruneBatchSize).</remarks>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>The idempotency records of one unit of work, in its transaction (see <see cref="IIdempotencyRecords"/>).</summary>
internal sealed class IdempotencyRecords(NpgsqlConnection connection, NpgsqlTransaction transaction, TimeSpan retention)
    : IIdempotencyRecords
{
    /// <summary>
    /// Two statements in one round trip. The first holds the key for the rest of the transaction (no
    /// wait: a second request with it is told at once). The second reads the key's answer; under READ
    /// COMMITTED it takes its own snapshot after the lock is held, so it sees the commit of whoever held
    /// the key before.
    /// </summary>
    internal const string Claim = """
        SELECT pg_try_advisory_xact_lock(hashtextextended(@Caller || chr(10) || @Key, 0));
        SELECT request_hash AS Fingerprint, answer AS Answer
        FROM idempotency_keys
        WHERE caller = @Caller AND key = @Key AND expires_at > now();
        """;

    /// <summary>An expired row of the key is replaced; a live one cannot exist while the key is held and none was found.</summary>
    internal const string Insert = """
        INSERT INTO idempotency_keys (caller, key, request_hash, answer, expires_at)
        VALUES (@Caller, @Key, @Fingerprint, @Answer, now() + @Retention)
        ON CONFLICT (caller, key) DO UPDATE
            SET request_hash = EXCLUDED.request_hash, answer = EXCLUDED.answer,
                created_at = now(), expires_at = EXCLUDED.expires_at
            WHERE idempotency_keys.expires_at <= now();
        """;

    /// <summary>
    /// Up to @batchSize keys past their expiry, oldest first (by the expiry index); SKIP LOCKED so that
    /// every instance may prune at once, and a key a running request is replacing is left alone.
    /// </summary>
    internal const string Prune = """
        DELETE FROM idempotency_keys
        WHERE (caller, key) IN (
            SELECT caller, key FROM idempotency_keys
            WHERE expires_at <= now()
            ORDER BY expires_at
            LIMIT @batchSize
            FOR UPDATE SKIP LOCKED)
        """;

    private (string Caller, string Key, byte[] Fingerprint, string Answer)? _pending;

    /// <summary>A record waits to be stored with the commit.</summary>
    public bool HasPending => _pending is not null;

    public async Task<StoredAnswer?> ClaimAsync(string caller, string key, CancellationToken cancellationToken)
    {
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(
            Claim, new { Caller = caller, Key = key }, transaction, cancellationToken: cancellationToken));
        if (!await results.ReadSingleAsync<bool>())
        {
            throw new IdempotencyKeyInUse(key);
        }

        var row = await results.ReadSingleOrDefaultAsync<StoredRow>();
        return row is null ? null : new StoredAnswer(row.Fingerprint, row.Answer);
    }

    public void Record(string caller, string key, ReadOnlyMemory<byte> fingerprint, string answer) =>
        _pending = (caller, key, fingerprint.ToArray(), answer);

    /// <summary>Writes the pending record in the transaction, before COMMIT.</summary>
    public async Task StoreAsync(CancellationToken cancellationToken)
    {
        if (_pending is not { } record)
        {
            return;
        }

        var written = await connection.ExecuteAsync(new CommandDefinition(
            Insert,
            new { record.Caller, record.Key, record.Fingerprint, record.Answer, Retention = retention },
            transaction,
            cancellationToken: cancellationToken));
        if (written != 1)
        {
            // Only if another transaction wrote the key without holding it: a bug, and nothing is committed.
            throw new InvalidOperationException($"Idempotency-Key '{record.Key}' was stored by another transaction while held by this one.");
        }
    }

    private sealed record StoredRow(byte[] Fingerprint, string Answer);
}
