using System.Data.Common;
using Npgsql;

namespace Allocation.Infrastructure;

/// <summary>
/// The connection settings this service runs with unless the connection string says otherwise.
/// They make an instance a good neighbour on a PostgreSQL shared by a fleet (see the README,
/// "Running several instances"), and keep every wait inside the request's deadline.
/// </summary>
internal static class ConnectionDefaults
{
    /// <summary>Enough to keep both the CPU and the database busy; more only queue inside PostgreSQL instead of here.</summary>
    public static int PoolSize(int processorCount) => (2 * processorCount) + 4;

    /// <summary>Idle connections beyond the pool's minimum are closed after this long, so a burst does not hold the server's slots for minutes.</summary>
    public const int IdleLifetimeSeconds = 30;

    /// <summary>Opening a connection, or waiting for a pooled one, gives up after this long: well inside the 10 s request deadline.</summary>
    public const int OpenTimeoutSeconds = 5;

    /// <summary>A statement that has not answered by then is cancelled; every statement here is a few index lookups.</summary>
    public const int CommandTimeoutSeconds = 5;

    /// <summary>How long a cancelled statement waits for the server to confirm before the connection is dropped (a hung server never confirms).</summary>
    public const int CancellationTimeoutMilliseconds = 1000;

    public static NpgsqlConnectionStringBuilder Apply(string connectionString, int processorCount)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Npgsql writes every key it was given under its canonical name: that is how "given" is told from "default".
        var given = new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        void Default(string key, Action set)
        {
            if (!given.ContainsKey(key))
            {
                set();
            }
        }

        Default("Maximum Pool Size", () => builder.MaxPoolSize = PoolSize(processorCount));
        Default("Connection Idle Lifetime", () => builder.ConnectionIdleLifetime = IdleLifetimeSeconds);
        Default("Timeout", () => builder.Timeout = OpenTimeoutSeconds);
        Default("Command Timeout", () => builder.CommandTimeout = CommandTimeoutSeconds);
        Default("Cancellation Timeout", () => builder.CancellationTimeout = CancellationTimeoutMilliseconds);
        // The same few statements run thousands of times a second: prepare them once per connection.
        Default("Max Auto Prepare", () => builder.MaxAutoPrepare = 32);
        Default("Auto Prepare Min Usages", () => builder.AutoPrepareMinUsages = 2);
        // The service sets no session state, so a connection taken back from the pool needs no
        // DISCARD ALL (which would also drop those prepared statements).
        Default("No Reset On Close", () => builder.NoResetOnClose = true);
        DefaultGss(builder, given);
        return builder;
    }

    /// <summary>
    /// Only the GSS default, for connections that keep their own pool and timeouts (the migrations').
    /// </summary>
    public static string WithoutGssProbe(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        DefaultGss(builder, new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString });
        return builder.ConnectionString;
    }

    /// <summary>
    /// The service never authenticates with Kerberos. Left at Prefer, the first connection probes GSS
    /// encryption, which loads libgssapi_krb5 (absent from the runtime image) and prints two
    /// plain-text "Cannot load library" lines into the JSON log.
    /// </summary>
    private static void DefaultGss(NpgsqlConnectionStringBuilder builder, DbConnectionStringBuilder given)
    {
        if (!given.ContainsKey("GSS Encryption Mode"))
        {
            builder.GssEncryptionMode = GssEncryptionMode.Disable;
        }
    }
}
