using Allocation.Infrastructure.Persistence;
using Dapper;
using Npgsql;

namespace Allocation.Infrastructure.Outbox;

/// <summary>
/// The outbox as the relay and the pruner see it. Every call is one autocommitted statement run
/// through <see cref="StoreErrors"/>, so database faults arrive as StoreUnavailable like everywhere else,
/// and each gives up after <see cref="StatementDeadline"/> even on a hung server.
/// Not sealed, and the statements the hosted services run are virtual: the seam through which tests
/// make them fail in ways a real database cannot be made to (HostedServiceFaultTests).
/// </summary>
internal class OutboxStore(NpgsqlDataSource dataSource)
{
    public static readonly TimeSpan StatementDeadline = TimeSpan.FromSeconds(10);

    public virtual Task<IReadOnlyList<OutboxEvent>> ClaimAsync(int batchSize, TimeSpan lease, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<OutboxEvent>>(
            async (connection, token) => (await connection.QueryAsync<OutboxEvent>(
                new CommandDefinition(OutboxSql.Claim, new { batchSize, lease }, cancellationToken: token))).AsList(),
            cancellationToken);

    public virtual Task<int> MarkPublishedAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        ExecuteAsync(OutboxSql.MarkPublished, new { ids = ids.ToArray() }, cancellationToken);

    public virtual Task<int> ReleaseAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        ExecuteAsync(OutboxSql.Release, new { ids = ids.ToArray() }, cancellationToken);

    /// <summary>How long the next event to publish has waited; null when nothing waits.</summary>
    public Task<TimeSpan?> OldestUnpublishedAgeAsync(CancellationToken cancellationToken) =>
        RunAsync(
            async (connection, token) => await connection.ExecuteScalarAsync<double?>(
                new CommandDefinition(OutboxSql.OldestUnpublishedAge, cancellationToken: token)) is { } seconds
                ? TimeSpan.FromSeconds(seconds)
                : (TimeSpan?)null,
            cancellationToken);

    /// <summary>How many events wait for the broker, and how long the oldest of them has waited (zero when none).</summary>
    public virtual Task<(long Count, TimeSpan OldestAge)> BacklogAsync(CancellationToken cancellationToken) =>
        RunAsync(
            async (connection, token) =>
            {
                var row = await connection.QuerySingleAsync<(long Count, double? OldestAgeSeconds)>(
                    new CommandDefinition(OutboxSql.Backlog, cancellationToken: token));
                return (row.Count, TimeSpan.FromSeconds(row.OldestAgeSeconds ?? 0));
            },
            cancellationToken);

    public virtual Task<int> PruneAsync(TimeSpan retention, bool publishedOnly, int batchSize, CancellationToken cancellationToken) =>
        ExecuteAsync(OutboxSql.Prune, new { retention, publishedOnly, batchSize }, cancellationToken);

    public virtual Task<int> PruneIdempotencyKeysAsync(int batchSize, CancellationToken cancellationToken) =>
        ExecuteAsync(Persistence.IdempotencyRecords.Prune, new { batchSize }, cancellationToken);

    private Task<int> ExecuteAsync(string sql, object parameters, CancellationToken cancellationToken) =>
        RunAsync(
            (connection, token) => connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: token)),
            cancellationToken);

    private Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> statement, CancellationToken cancellationToken) =>
        StoreErrors.OnOwnConnectionAsync(dataSource, StatementDeadline, statement, cancellationToken);
}
