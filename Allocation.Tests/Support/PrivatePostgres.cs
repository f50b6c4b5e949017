using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Allocation.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL cluster in a temporary folder, on a free loopback port, started from the
/// local server binaries. As root it runs them as the postgres user: PostgreSQL refuses root.
/// It keeps PostgreSQL's default max_connections (100), as a deployment does, and lets fault tests
/// change server settings and freeze the server's processes.
/// </summary>
public sealed partial class PrivatePostgres : IAsyncDisposable
{
    private readonly string _binaries;
    private readonly string _folder;

    private readonly bool _durable;
    private readonly List<int> _suspended = [];

    private PrivatePostgres(string binaries, string folder, int port, bool durable)
    {
        _binaries = binaries;
        _folder = folder;
        Port = port;
        _durable = durable;
    }

    public int Port { get; }

    private string DataDirectory => Path.Combine(_folder, "data");

    private static bool IsRoot => Environment.UserName == "root";

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Database={database};Username=postgres;Timeout=5;Command Timeout=30";

    /// <summary>The superuser on the maintenance database, unpooled: each use is a new session.</summary>
    public string AdminConnectionString => ConnectionString("postgres") + ";Pooling=false";

    /// <param name="durable">
    /// Keep PostgreSQL's default durability (fsync, synchronous commit) for tests that crash the
    /// server and then check what survived; the others trade it for speed.
    /// </param>
    public static async Task<PrivatePostgres> StartAsync(bool durable = false)
    {
        var binaries = FindBinaries() ?? throw new InvalidOperationException(
            "No database for the tests: set ALLOCATION_TEST_DATABASE to a PostgreSQL connection string whose user may " +
            "create databases, or install the PostgreSQL server binaries (Debian: apt-get install postgresql) so the " +
            "suite can start a private cluster.");
        var folder = Directory.CreateTempSubdirectory("allocation-pg-").FullName;
        if (IsRoot)
        {
            await ProcessTree.RunAsync("chown", ["postgres", folder]);
        }

        var postgres = new PrivatePostgres(binaries, folder, FreePort.Next(), durable);
        await postgres.RunAsOwnerAsync("initdb", ["-D", postgres.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        await postgres.StartAgainAsync();
        return postgres;
    }

    /// <summary>Starts the (stopped) server again on the same port and data.</summary>
    public Task StartAgainAsync() =>
        RunAsOwnerAsync("pg_ctl", [
            "-D", DataDirectory, "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -c listen_addresses=127.0.0.1 -k {_folder}" +
                (_durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"),
            "start",
        ]);

    /// <summary>Runs one statement as the superuser, in a session of its own.</summary>
    public async Task ExecuteAsSuperuserAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// <c>ALTER SYSTEM SET name = 'value'</c> and a configuration reload, as an operator does;
    /// returns once the postmaster has reloaded and signalled every session.
    /// </summary>
    public Task SetServerSettingAsync(string name, string value) =>
        AlterSystemAsync($"ALTER SYSTEM SET {Setting(name)} = '{value.Replace("'", "''", StringComparison.Ordinal)}'");

    /// <summary><c>ALTER SYSTEM RESET name</c> and a configuration reload, like <see cref="SetServerSettingAsync"/>.</summary>
    public Task ResetServerSettingAsync(string name) => AlterSystemAsync($"ALTER SYSTEM RESET {Setting(name)}");

    /// <summary>The server's clock, for comparing with timestamps in pg_stat_activity.</summary>
    public async Task<DateTime> ServerTimeAsync()
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT clock_timestamp()", connection);
        return (DateTime)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>The postmaster's process id: the first line of postmaster.pid.</summary>
    public int PostmasterPid =>
        int.Parse(File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First().Trim(), CultureInfo.InvariantCulture);

    /// <summary>
    /// Freezes the server with SIGSTOP, as a hung host or a stalled disk does: the postmaster only
    /// (sessions already open keep working, new ones cannot start), or every process of the cluster
    /// (nothing answers). Connections stay open; nothing is lost. <see cref="ResumeAsync"/> undoes it,
    /// and so does disposing.
    /// </summary>
    public async Task SuspendAsync(bool everyProcess)
    {
        var postmaster = PostmasterPid;
        _suspended.Add(postmaster); // first, so that even a failed signal is undone
        await SignalAsync("STOP", [postmaster]);
        if (everyProcess)
        {
            // The postmaster is stopped first, so it forks nothing new while its children are listed.
            var children = ProcessTree.ChildrenOf(postmaster);
            _suspended.AddRange(children);
            await SignalAsync("STOP", children, mayBeGone: true);
        }
    }

    /// <summary>Sends SIGCONT to every process <see cref="SuspendAsync"/> stopped: the children first, the postmaster last.</summary>
    public async Task ResumeAsync()
    {
        if (_suspended.Count == 0)
        {
            return;
        }

        var (postmaster, children) = (_suspended[0], _suspended[1..]);
        _suspended.Clear();
        // A child may have exited meanwhile: kill still signals the others.
        await SignalAsync("CONT", children, mayBeGone: true);
        await SignalAsync("CONT", [postmaster], mayBeGone: true);
    }

    /// <summary>Stops the server the hard way, as a crash or a killed container would.</summary>
    public Task StopAsync() => RunAsOwnerAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]);

    public async ValueTask DisposeAsync()
    {
        await ResumeAsync();
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(_folder, recursive: true);
    }

    private static string? FindBinaries()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("PG_BIN") is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")));
        }

        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries));
        return candidates.FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")));
    }

    [GeneratedRegex("^[a-z_]+$")]
    private static partial Regex SettingName();

    /// <summary>A setting's name goes into the statement as an identifier, so it is checked, not quoted.</summary>
    private static string Setting(string name) =>
        SettingName().IsMatch(name) ? name : throw new ArgumentException($"Not a setting name: {name}", nameof(name));

    private async Task AlterSystemAsync(string alterSystem)
    {
        var loadedBefore = await ConfigurationLoadTimeAsync();
        // ALTER SYSTEM cannot run in a transaction block: a statement on its own, then the reload.
        await ExecuteAsSuperuserAsync(alterSystem);
        await ExecuteAsSuperuserAsync("SELECT pg_reload_conf()");

        // A new session reports the postmaster's load time; once it moved, the postmaster has
        // re-read the files and is signalling its children, which apply them before their next command.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await ConfigurationLoadTimeAsync() <= loadedBefore)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The server did not reload its configuration after: {alterSystem}");
            }

            await Task.Delay(20);
        }

        await Task.Delay(200);
    }

    private async Task<DateTime> ConfigurationLoadTimeAsync()
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_conf_load_time()", connection);
        return (DateTime)(await command.ExecuteScalarAsync())!;
    }

    private static async Task SignalAsync(string signal, List<int> pids, bool mayBeGone = false)
    {
        if (pids.Count == 0)
        {
            return;
        }

        try
        {
            await ProcessTree.RunAsync("kill", [$"-{signal}", .. pids.Select(p => p.ToString(CultureInfo.InvariantCulture))]);
        }
        catch (InvalidOperationException) when (mayBeGone)
        {
            // No such process any more.
        }
    }

    private Task RunAsOwnerAsync(string tool, IReadOnlyList<string> arguments) =>
        IsRoot
            ? ProcessTree.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_binaries, tool), .. arguments])
            : ProcessTree.RunAsync(Path.Combine(_binaries, tool), arguments);
}
