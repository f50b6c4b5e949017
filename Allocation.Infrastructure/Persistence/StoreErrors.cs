using System.Net.Sockets;
using Allocation.Application;
using Npgsql;

namespace Allocation.Infrastructure.Persistence;

/// <summary>What a database failure means for the request that met it.</summary>
internal enum StoreOutcome
{
    /// <summary>Not a fault of the database's: a bug, answered as one.</summary>
    Unrecognised,

    /// <summary>The database is away, starting, full or out of connections: 503, try later.</summary>
    Unavailable,

    /// <summary>This connection broke (closed while idle, backend terminated): a fresh one may work at once.</summary>
    BrokenConnection,

    /// <summary>The server takes no writes (a replica, or a primary demoted by failover): 503, and forget pooled connections.</summary>
    ReadOnly,

    /// <summary>A concurrent writer won (serialization failure, deadlock, lock timeout): run the use case again.</summary>
    Conflict,

    /// <summary>The server cancelled a statement (statement_timeout, an operator): 503, or 504 when it was the request's own deadline.</summary>
    Timeout,

    /// <summary>
    /// No listed host is a writable primary right now (Npgsql's multi-host "No suitable host was found",
    /// or every host failed): a switchover or failover is under way. 503 after waiting for one, and
    /// forget what Npgsql remembers of each host's role, so the next attempt asks them again.
    /// </summary>
    NoWritablePrimary,
}

/// <summary>
/// The one place where PostgreSQL and Npgsql failures are turned into the application's vocabulary.
/// Everything that talks to the database runs through <see cref="RunAsync{T}"/>.
/// </summary>
internal static class StoreErrors
{
    /// <summary>
    /// SQLSTATE (five characters) or SQLSTATE class (two) to outcome; a full code wins over its class.
    /// Codes not listed are <see cref="StoreOutcome.Unrecognised"/>: constraint and syntax errors mean
    /// a bug here, not a fault there, and retrying them would only hide it.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, StoreOutcome> SqlStates = new Dictionary<string, StoreOutcome>(StringComparer.Ordinal)
    {
        ["08"] = StoreOutcome.BrokenConnection, // connection exception
        ["28"] = StoreOutcome.Unavailable, // invalid authorization: credentials rotated or revoked
        ["3D000"] = StoreOutcome.Unavailable, // the database does not exist (yet)
        ["53"] = StoreOutcome.Unavailable, // insufficient resources: 53300 too many connections, disk full, out of memory
        ["57P01"] = StoreOutcome.BrokenConnection, // admin_shutdown: backend terminated, or the server is stopping
        ["57P02"] = StoreOutcome.Unavailable, // crash_shutdown
        ["57P03"] = StoreOutcome.Unavailable, // cannot_connect_now: starting up or recovering
        ["57P04"] = StoreOutcome.Unavailable, // database_dropped
        ["57P05"] = StoreOutcome.BrokenConnection, // idle_session_timeout closed a pooled connection
        ["25P03"] = StoreOutcome.BrokenConnection, // idle_in_transaction_session_timeout ended the session
        ["25P04"] = StoreOutcome.BrokenConnection, // transaction_timeout (PostgreSQL 17) ended the session
        ["58"] = StoreOutcome.Unavailable, // system error: I/O failure on the server
        ["25006"] = StoreOutcome.ReadOnly, // read_only_sql_transaction
        ["40001"] = StoreOutcome.Conflict, // serialization_failure
        ["40P01"] = StoreOutcome.Conflict, // deadlock_detected
        ["55P03"] = StoreOutcome.Conflict, // lock_not_available: lock_timeout
        ["57014"] = StoreOutcome.Timeout, // query_canceled: statement_timeout or pg_cancel_backend
    };

    /// <summary>
    /// The messages of Npgsql's multi-host data source when it found no host of the asked-for role
    /// (NpgsqlMultiHostDataSource.NoSuitableHostsException): it has no exception type or code of its own.
    /// </summary>
    internal const string NoSuitableHostMessage = "No suitable host was found.";

    internal const string NoHostConnectedMessage = "Unable to connect to a suitable host.";

    public static StoreOutcome Classify(Exception error) => error switch
    {
        PostgresException { SqlState: var state } => ClassifySqlState(state),
        NpgsqlException { Message: var message } when IsNoSuitableHost(message) => StoreOutcome.NoWritablePrimary,
        NpgsqlException { InnerException: TimeoutException } => StoreOutcome.Unavailable, // connect, pool wait or command timeout
        NpgsqlException { InnerException: IOException or SocketException } => StoreOutcome.BrokenConnection,
        NpgsqlException { IsTransient: true } => StoreOutcome.Unavailable,
        SocketException or IOException => StoreOutcome.BrokenConnection,
        _ => StoreOutcome.Unrecognised,
    };

    private static bool IsNoSuitableHost(string message) =>
        message.StartsWith(NoSuitableHostMessage, StringComparison.Ordinal)
        || message.StartsWith(NoHostConnectedMessage, StringComparison.Ordinal);

    public static StoreOutcome ClassifySqlState(string sqlState)
    {
        ArgumentNullException.ThrowIfNull(sqlState);
        return SqlStates.TryGetValue(sqlState, out var outcome)
            || (sqlState.Length >= 2 && SqlStates.TryGetValue(sqlState[..2], out outcome))
            ? outcome
            : StoreOutcome.Unrecognised;
    }

    /// <param name="error">What the driver threw.</param>
    /// <param name="committing">
    /// The failure came while a commit was in flight: the write may have been stored, so the
    /// request must not be run again unless it is safe to repeat.
    /// </param>
    /// <returns>The exception to throw instead, or null when the error has no better name.</returns>
    public static Exception? Translate(Exception error, bool committing = false)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Classify(error) switch
        {
            StoreOutcome.Conflict => new ConcurrencyConflict($"A concurrent write won ({Describe(error)}).", error),
            StoreOutcome.BrokenConnection => new StoreUnavailable(
                $"The database connection broke ({Describe(error)}).",
                error,
                committing ? StoreFault.OutcomeUnknown : StoreFault.BrokenConnection),
            StoreOutcome.Unavailable when IsTimeout(error) => new StoreUnavailable(
                $"The database did not answer in time ({Describe(error)}).", error, StoreFault.Timeout),
            StoreOutcome.Unavailable => new StoreUnavailable(
                $"The database is unavailable ({Describe(error)}).",
                error,
                committing ? StoreFault.OutcomeUnknown : StoreFault.Unavailable),
            // A refused statement stored nothing, COMMIT or not.
            StoreOutcome.ReadOnly => new StoreUnavailable($"The database refuses writes ({Describe(error)}).", error),
            StoreOutcome.NoWritablePrimary => new StoreUnavailable($"No writable primary ({Describe(error)}).", error),
            StoreOutcome.Timeout => new StoreUnavailable(
                $"The database cancelled the statement ({Describe(error)}).", error, StoreFault.Timeout),
            _ => null,
        };
    }

    /// <summary>Connecting, waiting for a pooled connection or a statement took longer than its timeout.</summary>
    private static bool IsTimeout(Exception error) => error is NpgsqlException { InnerException: TimeoutException };

    /// <summary>
    /// Starts database work with the token Npgsql may use (<see cref="DriverCancellation"/>), rethrows
    /// its failures in the application's terms, and makes the request's deadline absolute: Npgsql
    /// honours cancellation by sending PostgreSQL a cancel request and waiting for the server to close
    /// it, which a hung server never does. So when <paramref name="deadline"/> fires this stops waiting
    /// and throws <see cref="OperationCanceledException"/> (the request-timeout middleware answers it);
    /// the operation is left to finish on its own, and whoever owns its connection must not reuse it
    /// until it has (see <see cref="UnitOfWork"/>). Past the deadline nothing is started at all: above
    /// all no COMMIT after the caller was told 504. (One method rather than a start and a guard: every
    /// statement passes here, and each async layer is a state machine per statement.)
    /// </summary>
    /// <param name="dataSource">Cleared when the failure means its idle connections are stale.</param>
    /// <param name="operation">The work, given the token Npgsql may use.</param>
    /// <param name="deadline">The request's cancellation: when it fires, this stops waiting.</param>
    /// <param name="committing">A COMMIT is in flight: a broken connection may not be retried.</param>
    /// <param name="started">Told of the running operation, for an owner that must not release its
    /// connection while the operation runs (the guard may stop waiting for it before it ends).</param>
    public static async Task<T> RunAsync<T>(
        NpgsqlDataSource dataSource,
        Func<CancellationToken, Task<T>> operation,
        CancellationToken deadline,
        bool committing = false,
        Action<Task<T>>? started = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(operation);
        deadline.ThrowIfCancellationRequested();
        using var driver = new DriverCancellation(deadline);
        var running = operation(driver.Token);
        started?.Invoke(running);
        try
        {
            return await running.WaitAsync(deadline);
        }
        catch (Exception error) when (error is not OperationCanceledException && Translate(error, committing) is { } translated)
        {
            var outcome = Classify(error);
            if (outcome is StoreOutcome.ReadOnly or StoreOutcome.BrokenConnection)
            {
                // The pool's other idle connections are likely gone the same way (idle_session_timeout
                // closes them all; a restart or failover leaves them on the old server): the retry and
                // the requests after it get fresh ones, which with several hosts and Target Session
                // Attributes=primary also find the new primary.
                dataSource.Clear();
            }

            if (outcome is StoreOutcome.ReadOnly or StoreOutcome.NoWritablePrimary && dataSource is NpgsqlMultiHostDataSource hosts)
            {
                // Npgsql remembers each host's role for Host Recheck Seconds (10 s by default), and clearing
                // the pool does not forget it: after a switchover it would keep the new primary marked as
                // a standby and the old one as primary (or offline) for that long. Ask them again.
                hosts.ClearDatabaseStates();
            }

            throw translated;
        }
    }

    /// <summary>
    /// Background work's statements (outside any unit of work): a pooled connection of their own,
    /// given up after <paramref name="limit"/> even on a hung server, failures in the application's terms.
    /// </summary>
    public static async Task<T> OnOwnConnectionAsync<T>(
        NpgsqlDataSource dataSource,
        TimeSpan limit,
        Func<NpgsqlConnection, CancellationToken, Task<T>> statements,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(statements);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        return await RunAsync(
            dataSource,
            async token =>
            {
                await using var connection = await dataSource.OpenConnectionAsync(token);
                return await statements(connection, token);
            },
            deadline.Token);
    }

    private static string Describe(Exception error) => error switch
    {
        PostgresException pg => $"{pg.SqlState}: {pg.MessageText}",
        _ => error.InnerException is { } inner ? $"{error.Message} {inner.Message}" : error.Message,
    };
}
