using System.Net.Sockets;
using Allocation.Application;
using Npgsql;

namespace Allocation.Infrastructure.Persistence;

/// <summary>Turns PostgreSQL failures into the application's vocabulary, in one place.</summary>
internal static class PostgresErrors
{
    /// <returns>The exception to throw instead, or null when the error has no better name.</returns>
    public static Exception? Translate(Exception error) => error switch
    {
        PostgresException
        {
            SqlState: PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.CheckViolation
                or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected,
        } pg => new ConcurrencyConflict($"A concurrent write won ({pg.SqlState} on {pg.ConstraintName ?? pg.TableName}).", pg),
        PostgresException
        {
            SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections,
        } pg => Unavailable(pg),
        PostgresException => null,
        NpgsqlException { IsTransient: true } or NpgsqlException { InnerException: TimeoutException or SocketException or IOException } =>
            Unavailable(error),
        SocketException => Unavailable(error),
        _ => null,
    };

    public static async Task<T> Guard<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (Exception error) when (Translate(error) is { } translated)
        {
            throw translated;
        }
    }

    public static async Task Guard(Func<Task> operation) =>
        await Guard(async () =>
        {
            await operation();
            return true;
        });

    private static StoreUnavailable Unavailable(Exception error) =>
        new("The database is unavailable.", error);
}
