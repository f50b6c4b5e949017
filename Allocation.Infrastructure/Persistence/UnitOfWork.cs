using System.Data;
using Allocation.Application;
using Allocation.Application.Idempotency;
using Allocation.Infrastructure.Telemetry;
using Dapper;
using Npgsql;

namespace Allocation.Infrastructure.Persistence;

/// <summary>One pooled connection and one READ COMMITTED transaction for one use case.</summary>
internal sealed class UnitOfWork : IUnitOfWork
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly DapperProductRepository _products;
    private readonly IdempotencyRecords _idempotency;

    /// <summary>The last database operation started; the connection is not released while it runs.</summary>
    private Task _lastOperation = Task.CompletedTask;

    /// <summary>Set by the server's warning that a COMMIT stopped waiting for the synchronous standby.</summary>
    private volatile bool _replicationUnconfirmed;

    /// <summary>The commit must wait for the synchronous standby even if nothing was written (<see cref="ConfirmEarlierWrites"/>).</summary>
    private bool _confirmEarlierWrites;

    private UnitOfWork(NpgsqlDataSource dataSource, NpgsqlConnection connection, NpgsqlTransaction transaction, TimeSpan idempotencyRetention)
    {
        _dataSource = dataSource;
        _connection = connection;
        _transaction = transaction;
        _products = new DapperProductRepository(connection, transaction);
        Products = new GuardedProductRepository(this);
        _idempotency = new IdempotencyRecords(connection, transaction, idempotencyRetention);
        Idempotency = new GuardedIdempotencyRecords(this);
        _connection.Notice += NoteUnreplicatedCommit;
    }

    public IProductRepository Products { get; }

    public IIdempotencyRecords Idempotency { get; }

    public static async Task<UnitOfWork> BeginAsync(
        NpgsqlDataSource dataSource, TimeSpan idempotencyRetention, CancellationToken cancellationToken)
    {
        // Waits for a pooled connection within the request's deadline rather than opening more than the pool allows.
        Task<NpgsqlConnection>? opening = null;
        NpgsqlConnection connection;
        try
        {
            connection = await StoreErrors.RunAsync(
                dataSource, token => dataSource.OpenConnectionAsync(token).AsTask(), cancellationToken, started: task => opening = task);
        }
        catch (OperationCanceledException) when (opening is not null)
        {
            // Given up on at the deadline: should it open after all, it goes straight back to the pool.
            _ = opening.ContinueWith(
                static (opened, _) => opened.Result.DisposeAsync(),
                null,
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion,
                TaskScheduler.Default);
            throw;
        }

        try
        {
            // Npgsql sends BEGIN with the first statement: nothing to wait for here.
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
            return new UnitOfWork(dataSource, connection, transaction, idempotencyRetention);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public void ConfirmEarlierWrites() => _confirmEarlierWrites = true;

    /// <summary>
    /// Gives the transaction an id, so that its COMMIT writes WAL and, like any commit that does, waits
    /// for the synchronous standby to have everything up to it, earlier commits included.
    /// </summary>
    internal const string TakeTransactionId = "SELECT pg_current_xact_id()";

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_confirmEarlierWrites)
            {
                await RunAsync(
                    token => _connection.ExecuteScalarAsync(new CommandDefinition(TakeTransactionId, transaction: _transaction, cancellationToken: token)),
                    cancellationToken);
            }

            // The events continue the trace of the request or command writing them (with tracing on).
            var statements = _products.Changes(Guid.CreateVersion7, TraceContext.OfTracedCurrent());
            if (statements.Count == 1 && !_idempotency.HasPending)
            {
                // The usual case (an allocation, a deallocation, most batch changes): the change and
                // COMMIT in one round trip. COMMIT is in flight from the start, so a broken connection here means "may be stored", never "retry".
                // When the statement loses the version check it has written nothing, so the COMMIT commits nothing.
                await RunAsync(token => ExecuteAsync(statements[0], token, withCommit: true), cancellationToken, committing: true);
            }
            else
            {
                // Until COMMIT is sent nothing can have been stored, so a broken connection there is safe to retry.
                foreach (var statement in statements)
                {
                    await RunAsync(token => ExecuteAsync(statement, token), cancellationToken);
                }

                await RunAsync(_idempotency.StoreAsync, cancellationToken);
                await RunAsync(_transaction.CommitAsync, cancellationToken, committing: true);
            }
        }
        catch (StoreUnavailable failure) when (_replicationUnconfirmed && failure.Fault != StoreFault.OutcomeUnknown)
        {
            // The wait was cancelled and the COMMIT then failed too (a timeout): on one server only.
            // (When the server terminated the connection during the wait, a switchover or shutdown, the
            // outcome is unknown like any COMMIT cut off, and a repeat confirms it: see ConfirmEarlierWrites.)
            throw NotReplicated(failure);
        }

        if (_replicationUnconfirmed)
        {
            throw NotReplicated(innerException: null);
        }
    }

    /// <summary>Sends one statement of the changes (and COMMIT with it when it is the only one) and checks its answer.</summary>
    /// <returns>The rows it changed, as expected; null for a statement that answers nothing.</returns>
    /// <exception cref="ConcurrencyConflict">Another writer changed (or created) the product first.</exception>
    private async Task<int?> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken, bool withCommit = false)
    {
        var parameters = new DynamicParameters();
        foreach (var (name, value) in statement.Parameters)
        {
            parameters.Add(name, value);
        }

        var command = new CommandDefinition(
            withCommit ? ProductSql.WithCommit(statement.Text) : statement.Text, parameters, _transaction, cancellationToken: cancellationToken);
        int? rows;
        try
        {
            if (statement.ExpectedRows is null)
            {
                await _connection.ExecuteAsync(command);
                return null;
            }

            rows = await _connection.ExecuteScalarAsync<int?>(command);
        }
        catch (PostgresException error) when (error is { SqlState: PostgresErrorCodes.UniqueViolation }
            && statement.Refusals.TryGetValue(error.ConstraintName ?? "", out var refusal))
        {
            throw refusal(error);
        }

        if (rows is null)
        {
            throw new ConcurrencyConflict(statement.Conflict);
        }

        if (rows != statement.ExpectedRows)
        {
            throw new InvalidOperationException(
                $"A store of changes matched {rows} rows instead of {statement.ExpectedRows}: the product was not stored as it was loaded.");
        }

        return rows;
    }

    /// <summary>
    /// PostgreSQL's text for a COMMIT whose wait for the synchronous standby was cancelled: "canceling
    /// wait for synchronous replication due to user request" (a statement timeout, a cancel request) or
    /// "canceling the wait for synchronous replication and terminating connection due to administrator
    /// command". A WARNING, not an error, and the COMMIT then reports success: only the warning says the
    /// write is on this server alone (its detail, "The transaction has already committed locally", is
    /// redacted by Npgsql unless Include Error Detail is on, so the message is what is matched).
    /// </summary>
    internal const string SynchronousWaitCancelled = "wait for synchronous replication";

    private void NoteUnreplicatedCommit(object sender, NpgsqlNoticeEventArgs notice)
    {
        // The text in English; and, whatever the server's lc_messages, the plain WARNING (SQLSTATE 01000)
        // it is raised as, which nothing else this service sends can raise.
        if (notice.Notice.MessageText.Contains(SynchronousWaitCancelled, StringComparison.Ordinal)
            || notice.Notice is { InvariantSeverity: "WARNING", SqlState: PostgresErrorCodes.Warning })
        {
            _replicationUnconfirmed = true;
        }
    }

    private static StoreUnavailable NotReplicated(Exception? innerException) =>
        new(
            "The primary committed, but its wait for the synchronous standby was cancelled: the write is on one server only.",
            innerException,
            StoreFault.NotReplicated);

    public ValueTask DisposeAsync()
    {
        if (!_lastOperation.IsCompleted)
        {
            // Abandoned at the request's deadline while the database had not answered: release the
            // connection only once Npgsql is done with it (it breaks it after its own timeouts).
            _ = _lastOperation.ContinueWith(
                (_, unitOfWork) => ((UnitOfWork)unitOfWork!).ReleaseAsync(),
                this,
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
            return ValueTask.CompletedTask;
        }

        return ReleaseWithinAsync(RollbackBound);
    }

    /// <summary>
    /// Rolling back an unfinished transaction takes a healthy server well under a millisecond; a server
    /// that froze after its last answer would hold the response for as long as it stays frozen.
    /// </summary>
    private static readonly TimeSpan RollbackBound = TimeSpan.FromSeconds(1);

    private async ValueTask ReleaseWithinAsync(TimeSpan bound)
    {
        var release = ReleaseAsync().AsTask();
        try
        {
            await release.WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            // Left to finish (or fail) on its own; the connection goes back only once Npgsql is done with it.
            _ = release.ContinueWith(static r => r.Exception, TaskScheduler.Default);
        }
    }

    private async ValueTask ReleaseAsync()
    {
        try
        {
            // Disposing an uncommitted transaction rolls it back; a broken connection has nothing to roll back.
            await _transaction.DisposeAsync();
        }
        catch (NpgsqlException)
        {
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }

    private Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken deadline, bool committing = false) =>
        StoreErrors.RunAsync(_dataSource, operation, deadline, committing, started: running => _lastOperation = running);

    private Task<bool> RunAsync(Func<CancellationToken, Task> operation, CancellationToken deadline, bool committing = false) =>
        RunAsync(
            async token =>
            {
                await operation(token);
                return true;
            },
            deadline,
            committing);

    /// <summary>Gives repository reads the same error translation and deadline as the commit.</summary>
    private sealed class GuardedProductRepository(UnitOfWork unitOfWork) : IProductRepository
    {
        public Task<Domain.Product?> GetAsync(string sku, string? orderId, CancellationToken cancellationToken) =>
            unitOfWork.RunAsync(token => unitOfWork._products.GetAsync(sku, orderId, token), cancellationToken);

        public Task<Domain.Product?> GetForChangeAsync(string sku, CancellationToken cancellationToken) =>
            unitOfWork.RunAsync(token => unitOfWork._products.GetForChangeAsync(sku, token), cancellationToken);

        public Task<Domain.Product?> GetForBatchAsync(string sku, string batchReference, CancellationToken cancellationToken) =>
            unitOfWork.RunAsync(token => unitOfWork._products.GetForBatchAsync(sku, batchReference, token), cancellationToken);

        public void Add(Domain.Product product) => unitOfWork._products.Add(product);
    }

    /// <summary>Gives the idempotency claim the same error translation and deadline as the commit.</summary>
    private sealed class GuardedIdempotencyRecords(UnitOfWork unitOfWork) : IIdempotencyRecords
    {
        public Task<StoredAnswer?> ClaimAsync(string caller, string key, CancellationToken cancellationToken) =>
            unitOfWork.RunAsync(token => unitOfWork._idempotency.ClaimAsync(caller, key, token), cancellationToken);

        public void Record(string caller, string key, ReadOnlyMemory<byte> fingerprint, string answer) =>
            unitOfWork._idempotency.Record(caller, key, fingerprint, answer);
    }
}

internal sealed class UnitOfWorkFactory(NpgsqlDataSource dataSource, Microsoft.Extensions.Options.IOptions<IdempotencyOptions> idempotency)
    : IUnitOfWorkFactory
{
    private readonly TimeSpan _retention = idempotency.Value.Retention;

    public async Task<IUnitOfWork> BeginAsync(CancellationToken cancellationToken) =>
        await UnitOfWork.BeginAsync(dataSource, _retention, cancellationToken);
}
