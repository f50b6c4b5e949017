using Allocation.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Allocation.Tests.Support;

/// <summary>
/// A fresh, migrated database on the server named by ALLOCATION_TEST_DATABASE, or on a private
/// cluster started for this run. The shared one (<see cref="SharedAsync"/>) is created on first use
/// and removed when the run ends; fixtures that run in parallel with others and compare whole
/// tables take one of their own (<see cref="OwnAsync"/>).
/// </summary>
public sealed class TestDatabase
{
    public const string ServerVariable = "ALLOCATION_TEST_DATABASE";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static TestDatabase? _shared;

    private readonly string _adminConnectionString;
    private readonly string _name;

    private TestDatabase(string adminConnectionString, string name, PrivatePostgres? cluster, bool shared, string? serviceConnectionString = null)
    {
        _adminConnectionString = adminConnectionString;
        _name = name;
        Cluster = cluster;
        IsShared = shared;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
        var server = new NpgsqlConnectionStringBuilder(adminConnectionString);
        ServiceConnectionString = serviceConnectionString ?? new NpgsqlConnectionStringBuilder
        {
            Host = server.Host,
            Port = server.Port,
            Database = name,
            Username = server.Username,
            Password = server.Password,
        }.ConnectionString;
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    /// <summary>The tests' own connection string (short connect timeout).</summary>
    public string ConnectionString { get; }

    /// <summary>The database's name on its server.</summary>
    public string Name => _name;

    /// <summary>
    /// Only where the database is and who connects, as an operator writes it: an API started with
    /// this runs on the service's own connection defaults (pool size, timeouts).
    /// </summary>
    public string ServiceConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>The private cluster started with this database (and stopped when it is disposed), if any.</summary>
    public PrivatePostgres? Cluster { get; }

    /// <summary>
    /// The suite's shared database, which fixtures running in parallel write at the same time:
    /// tests on it see only their own rows (unique names), never whole tables.
    /// </summary>
    public bool IsShared { get; }

    public static async Task<TestDatabase> SharedAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _shared ??= await CreateAsync(privateCluster: false, durable: false, shared: true);
        }
        finally
        {
            Gate.Release();
        }
    }

    public static async Task DisposeSharedAsync()
    {
        if (_shared is { } database)
        {
            _shared = null;
            await database.DisposeAsync();
        }
    }

    /// <summary>
    /// A new migrated database of the caller's own on the shared database's server (no new cluster),
    /// dropped when disposed: nothing else writes to it.
    /// </summary>
    public static async Task<TestDatabase> OwnAsync()
    {
        var shared = await SharedAsync();
        return await CreateOnAsync(shared._adminConnectionString, cluster: null, shared: false);
    }

    /// <summary>
    /// A new migrated database: on a private cluster of its own when asked for (durable unless told
    /// otherwise), else on the configured server or, when none is configured, on a non-durable private cluster.
    /// </summary>
    public static Task<TestDatabase> CreateAsync(bool privateCluster = false, bool durable = true) =>
        CreateAsync(privateCluster, durable, shared: false);

    private static async Task<TestDatabase> CreateAsync(bool privateCluster, bool durable, bool shared)
    {
        var configured = Environment.GetEnvironmentVariable(ServerVariable);
        PrivatePostgres? cluster = null;
        if (privateCluster || string.IsNullOrWhiteSpace(configured))
        {
            cluster = await PrivatePostgres.StartAsync(durable: privateCluster && durable);
            configured = cluster.ConnectionString("postgres");
        }

        return await CreateOnAsync(configured, cluster, shared);
    }

    /// <summary>
    /// A new migrated database on a pg_auto_failover formation, created on its primary (the standby
    /// replicates it). The service gets the formation's multi-host string as an operator writes it;
    /// the tests' own connections ask for the primary and check which host that is on every new
    /// connection (no cached host state), so that they read from the primary of the moment.
    /// Dispose the formation, not this: it drops nothing.
    /// </summary>
    public static Task<TestDatabase> CreateOnFormationAsync(PrivateFormation formation)
    {
        ArgumentNullException.ThrowIfNull(formation);
        var admin = new NpgsqlConnectionStringBuilder(formation.ConnectionString("postgres"))
        {
            TargetSessionAttributes = "primary",
            HostRecheckSeconds = 0,
            Timeout = 5,
            CommandTimeout = 30,
        }.ConnectionString;
        return CreateOnAsync(admin, cluster: null, shared: false, name => formation.ConnectionString(name));
    }

    private static async Task<TestDatabase> CreateOnAsync(
        string adminConnectionString, PrivatePostgres? cluster, bool shared, Func<string, string>? serviceConnectionString = null)
    {
        var name = "allocation_test_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = NpgsqlDataSource.Create(adminConnectionString))
        await using (var create = admin.CreateCommand($"CREATE DATABASE {name}"))
        {
            // The name is generated above from a GUID: an identifier cannot be a parameter.
            await create.ExecuteNonQueryAsync();
        }

        var database = new TestDatabase(adminConnectionString, name, cluster, shared, serviceConnectionString?.Invoke(name));
        await new DatabaseMigrator(database.ConnectionString, NullLogger<DatabaseMigrator>.Instance).MigrateAsync(CancellationToken.None);
        return database;
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
            return;
        }

        await using var admin = NpgsqlDataSource.Create(_adminConnectionString);
        await using var drop = admin.CreateCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
        await drop.ExecuteNonQueryAsync();
    }
}
