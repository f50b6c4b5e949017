using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Allocation.Tests.Support;

/// <summary>
/// A throwaway pg_auto_failover formation in a temporary folder: a monitor and two PostgreSQL nodes
/// (a primary and a synchronous standby) on free loopback ports, each run by its own foreground
/// <c>pg_autoctl</c> (the keeper) as the postgres user when the suite runs as root. PostgreSQL's and
/// pg_auto_failover's default settings are kept, as deployed: fsync on, synchronous_commit on,
/// <c>synchronous_standby_names = 'ANY 1 (…)'</c>, the monitor's health checks every 5 s, a node
/// unhealthy after 20 s, a primary given 30 s to demote itself.
/// Faults: a planned switchover, the postmaster killed (its keeper restarts it), a node's keeper and
/// postmaster killed (the machine lost), a node started again (it rejoins). Disposing stops every
/// process it started and removes the folder, also after a failed test.
/// </summary>
public sealed class PrivateFormation : IAsyncDisposable
{
    /// <summary>How long a formation has to come up, or to settle after a fault (pg_auto_failover's own timings are in seconds).</summary>
    public static readonly TimeSpan SettleLimit = TimeSpan.FromSeconds(120);

    private readonly string _binaries;
    private readonly string _folder;
    private readonly int _monitorPort;
    private FormationKeeper? _monitor;

    private PrivateFormation(string binaries, string folder, int monitorPort, IReadOnlyList<FormationNode> nodes)
    {
        _binaries = binaries;
        _folder = folder;
        _monitorPort = monitorPort;
        Nodes = nodes;
    }

    /// <summary>The two data nodes, in the order they were created (node_1, node_2); their roles change.</summary>
    public IReadOnlyList<FormationNode> Nodes { get; }

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>Where pg_autoctl tells its servers to put their Unix sockets (the Debian packages' default).</summary>
    private const string SocketFolder = "/var/run/postgresql";

    private string MonitorData => Path.Combine(_folder, "monitor");

    private string MonitorConnectionString =>
        $"Host=127.0.0.1;Port={_monitorPort};Database=pg_auto_failover;Username=autoctl_node;Pooling=false;Timeout=5;Command Timeout=10";

    /// <summary>
    /// The formation as an operator lists it: both nodes, asking for the one that takes writes
    /// (Npgsql multi-host). Only where and who: the service's own connection defaults apply.
    /// </summary>
    public string ConnectionString(string database) =>
        $"Host={string.Join(',', Nodes.Select(n => $"127.0.0.1:{n.Port}"))};Target Session Attributes=read-write;Database={database};Username=postgres";

    /// <summary>One node alone (whatever its role), for the tests' own checks: short timeouts, no pooling.</summary>
    public static string NodeConnectionString(FormationNode node, string database)
    {
        ArgumentNullException.ThrowIfNull(node);
        return $"Host=127.0.0.1;Port={node.Port};Database={database};Username=postgres;Pooling=false;Timeout=5;Command Timeout=30";
    }

    /// <summary>Starts a monitor and two nodes and returns once one is a healthy primary and the other its healthy secondary.</summary>
    public static async Task<PrivateFormation> StartAsync()
    {
        var binaries = FindBinaries() ?? throw new InvalidOperationException(
            "No pg_auto_failover for the high-availability tests: install it (Debian: apt-get install " +
            "postgresql-<major>-auto-failover pg-auto-failover-cli, for the installed PostgreSQL major version), or set PG_BIN " +
            "to a PostgreSQL bin folder with pg_autoctl on PATH.");
        var folder = Directory.CreateTempSubdirectory("allocation-ha-").FullName;
        if (IsRoot)
        {
            await ProcessTree.RunAsync("chown", ["postgres", folder]);
            // pg_autoctl keeps its pid files in XDG_RUNTIME_DIR only when that folder exists (else in /tmp/pg_autoctl).
            await ProcessTree.RunAsync("install", ["-d", "-o", "postgres", "-m", "700", Path.Combine(folder, "run")]);
            // pg_autoctl's nodes put their Unix sockets in the packages' folder, which a container may not have yet.
            await ProcessTree.RunAsync("install", ["-d", "-o", "postgres", "-g", "postgres", "-m", "2775", SocketFolder]);
        }

        else
        {
            await ProcessTree.RunAsync("install", ["-d", "-m", "700", Path.Combine(folder, "run")]);
        }

        var nodes = Enumerable.Range(1, 2).Select(i => new FormationNode($"node_{i}", FreePort.Next(), Path.Combine(folder, $"node{i}"))).ToList();
        var formation = new PrivateFormation(binaries, folder, FreePort.Next(), nodes);
        try
        {
            formation._monitor = formation.StartKeeper("monitor", [
                "create", "monitor", "--pgdata", formation.MonitorData, "--pgport", formation._monitorPort.ToString(CultureInfo.InvariantCulture),
                "--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--auth", "trust", "--no-ssl", "--run",
            ]);
            await formation.WaitForMonitorAsync();
            foreach (var node in nodes)
            {
                node.Keeper = formation.StartKeeper(node.Name, [
                    "create", "postgres", "--pgdata", node.DataDirectory, "--pgport", node.Port.ToString(CultureInfo.InvariantCulture),
                    "--name", node.Name, "--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--auth", "trust", "--no-ssl",
                    "--monitor", $"postgres://autoctl_node@127.0.0.1:{formation._monitorPort}/pg_auto_failover?sslmode=disable", "--run",
                ]);
                if (node == nodes[0])
                {
                    // The first node becomes the primary before the second asks to be its standby.
                    await formation.WaitForStateAsync(s => s.Any(n => n.Name == node.Name && n.Reported is "single" or "wait_primary" or "primary"),
                        "the first node to run as primary", SettleLimit);
                }
            }

            await formation.WaitUntilHealthyAsync(SettleLimit);
            return formation;
        }
        catch
        {
            TestContext.Progress.WriteLine(await formation.DescribeAsync());
            await formation.DisposeAsync();
            throw;
        }
    }

    /// <summary>The nodes as the monitor sees them (<c>pgautofailover.node</c>).</summary>
    public async Task<IReadOnlyList<NodeState>> StateAsync()
    {
        await using var connection = new NpgsqlConnection(MonitorConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT nodename, nodeport, reportedstate::text, goalstate::text, health, reportedpgisrunning FROM pgautofailover.node ORDER BY nodeid",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        var states = new List<NodeState>();
        while (await reader.ReadAsync())
        {
            states.Add(new NodeState(reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetBoolean(5)));
        }

        return states;
    }

    /// <summary>Polls the monitor until <paramref name="condition"/> holds; fails with the formation's state and events after <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<NodeState>> WaitForStateAsync(Func<IReadOnlyList<NodeState>, bool> condition, string what, TimeSpan limit)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            try
            {
                var states = await StateAsync();
                if (condition(states))
                {
                    return states;
                }
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline)
            {
                // The monitor is starting.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The formation did not reach {what} within {limit.TotalSeconds:0} s.\n{await DescribeAsync()}");
            }

            if (Nodes.Select(n => n.Keeper).Append(_monitor).OfType<FormationKeeper>().FirstOrDefault(k => k.Process.HasExited) is { } stopped)
            {
                throw new InvalidOperationException($"pg_autoctl of {stopped.Name} stopped by itself while waiting for {what}.\n{await DescribeAsync()}");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Waits for a healthy primary and its healthy secondary, both in the state the monitor assigned them.</summary>
    public Task WaitUntilHealthyAsync(TimeSpan limit) =>
        WaitForStateAsync(IsHealthyPair, "a healthy primary and a healthy secondary", limit);

    public static bool IsHealthyPair(IReadOnlyList<NodeState> states)
    {
        ArgumentNullException.ThrowIfNull(states);
        return states.Count(s => s.Is("primary") && s.Healthy) == 1 && states.Count(s => s.Is("secondary") && s.Healthy) == 1;
    }

    /// <summary>The node the monitor has as primary (reported and assigned <c>primary</c> or <c>wait_primary</c>).</summary>
    public async Task<FormationNode> PrimaryAsync()
    {
        var states = await StateAsync();
        var primary = states.SingleOrDefault(s => s.Is("primary") || s.Is("wait_primary"))
            ?? throw new InvalidOperationException($"The formation has no primary now.\n{await DescribeAsync()}");
        return Nodes.Single(n => n.Name == primary.Name);
    }

    public async Task<FormationNode> StandbyAsync()
    {
        var primary = await PrimaryAsync();
        return Nodes.Single(n => n != primary);
    }

    /// <summary><c>pg_autoctl perform switchover</c>: returns when pg_autoctl says it is done (the old primary is a secondary again).</summary>
    public Task SwitchoverAsync() => RunAutoctlAsync(["perform", "switchover", "--pgdata", MonitorData]);

    /// <summary>kill -9 of the node's postmaster, as a crash of the server does; its keeper starts it again.</summary>
    public async Task KillPostmasterAsync(FormationNode node)
    {
        await KillAsync([Own(node).PostmasterPid]);
    }

    /// <summary>
    /// kill -9 of the node's keeper (every pg_autoctl process of it) and its PostgreSQL at once, as
    /// losing the machine does: nothing restarts it until <see cref="StartNodeAgainAsync"/>. Returns
    /// once every process of the node has gone.
    /// </summary>
    public async Task KillKeeperAndPostmasterAsync(FormationNode node)
    {
        var keeper = Own(node).Keeper ?? throw new InvalidOperationException($"{node.Name} is not running.");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            // The keeper and everything under it (its services, the postmaster, the backends), and the
            // postmaster of the pid file; again, should a process have forked meanwhile.
            var processes = Descendants(keeper.Process.Id).Append(keeper.Process.Id).ToList();
            if (PostmasterPidIn(node.DataDirectory) is { } postmaster && IsAlive(postmaster) && !processes.Contains(postmaster))
            {
                processes.Add(postmaster);
            }

            processes = [.. processes.Where(IsAlive)];
            if (processes.Count == 0)
            {
                break;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{node.Name}'s processes did not exit after kill -9: {string.Join(' ', processes)}");
            }

            await KillAsync(processes, mayBeGone: true);
            await Task.Delay(50);
        }

        await keeper.Process.WaitForExitAsync();
        node.Keeper = null;
        keeper.Process.Dispose();
    }

    /// <summary>The standby is lost (keeper and postmaster killed); returns which node it was.</summary>
    public async Task<FormationNode> StopStandbyAsync()
    {
        var standby = await StandbyAsync();
        await KillKeeperAndPostmasterAsync(standby);
        return standby;
    }

    /// <summary>Starts the node's keeper again (<c>pg_autoctl run</c>); it rejoins the formation as the monitor tells it.</summary>
    public Task StartNodeAgainAsync(FormationNode node)
    {
        if (Own(node).Keeper is { Process.HasExited: false })
        {
            throw new InvalidOperationException($"{node.Name} is running.");
        }

        node.Keeper = StartKeeper(node.Name, ["run", "--pgdata", node.DataDirectory]);
        return Task.CompletedTask;
    }

    /// <summary>The monitor's state and its last events (<c>pg_autoctl show state</c>, <c>show events</c>), for a failure message.</summary>
    public async Task<string> DescribeAsync()
    {
        var parts = new List<string>();
        foreach (var command in new[] { "state", "events" })
        {
            try
            {
                parts.Add(await RunAutoctlAsync(command == "state"
                    ? ["show", "state", "--pgdata", MonitorData]
                    : ["show", "events", "--pgdata", MonitorData, "--count", "40"]));
            }
            catch (Exception error) when (error is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                parts.Add($"pg_autoctl show {command}: {error.Message}");
            }
        }

        foreach (var keeper in new[] { _monitor }.Concat(Nodes.Select(n => n.Keeper)).OfType<FormationKeeper>())
        {
            parts.Add($"--- {keeper.Name} (last lines)\n{string.Join('\n', keeper.Output.TakeLast(15))}");
        }

        return string.Join('\n', parts);
    }

    public async ValueTask DisposeAsync()
    {
        var keepers = Nodes.Select(n => n.Keeper).Append(_monitor).OfType<FormationKeeper>().ToList();
        // The nodes first, the monitor last: a node that loses its monitor only waits for it.
        foreach (var keeper in keepers)
        {
            await StopKeeperAsync(keeper);
        }

        // A postmaster whose keeper was killed (or that outlived it) is stopped by its pid file.
        var leftovers = Nodes.Select(n => n.DataDirectory).Append(MonitorData)
            .Select(PostmasterPidIn).OfType<int>().Where(IsAlive).ToList();
        if (leftovers.Count > 0)
        {
            await KillAsync(leftovers, mayBeGone: true);
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            await Task.Delay(500); // a process was still writing its log
            Directory.Delete(_folder, recursive: true);
        }
    }

    private FormationNode Own(FormationNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return Nodes.Contains(node) ? node : throw new ArgumentException($"{node} is not a node of this formation.", nameof(node));
    }

    private static async Task StopKeeperAsync(FormationKeeper keeper)
    {
        if (keeper.Process.HasExited)
        {
            keeper.Process.Dispose();
            return;
        }

        // SIGTERM to pg_autoctl itself (runuser does not forward it without killing it 2 s later):
        // it stops its PostgreSQL (fast) and exits.
        var tree = Descendants(keeper.Process.Id).Prepend(keeper.Process.Id).ToList();
        await KillAsync([keeper.Pid], "TERM", mayBeGone: true);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await keeper.Process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync([.. tree.Where(IsAlive)], mayBeGone: true);
        }

        keeper.Process.Dispose();
    }

    private FormationKeeper StartKeeper(string name, IReadOnlyList<string> arguments)
    {
        var start = AutoctlStartInfo(arguments);
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start pg_autoctl");
        var keeper = new FormationKeeper(name, process);
        process.OutputDataReceived += (_, e) => keeper.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => keeper.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return keeper;
    }

    private async Task<string> RunAutoctlAsync(IReadOnlyList<string> arguments)
    {
        using var process = Process.Start(AutoctlStartInfo(arguments)) ?? throw new InvalidOperationException("Could not start pg_autoctl");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_autoctl {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}{await output}");
        }

        return await output + await error;
    }

    /// <summary>
    /// pg_autoctl with the PostgreSQL binaries on PATH and its configuration, state and pid files in
    /// the formation's folder, as the postgres user when the suite runs as root.
    /// </summary>
    private ProcessStartInfo AutoctlStartInfo(IReadOnlyList<string> arguments)
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = $"{_binaries}:/usr/local/bin:/usr/bin:/bin",
            ["XDG_CONFIG_HOME"] = Path.Combine(_folder, "config"),
            ["XDG_DATA_HOME"] = Path.Combine(_folder, "share"),
            ["XDG_RUNTIME_DIR"] = Path.Combine(_folder, "run"),
        };
        var autoctl = Path.Combine(FindAutoctlFolder(_binaries), "pg_autoctl");
        var start = IsRoot ? new ProcessStartInfo("runuser") : new ProcessStartInfo(autoctl);
        if (IsRoot)
        {
            // runuser keeps the caller's environment but for HOME, USER and the like: env sets ours.
            foreach (var argument in new[] { "-u", "postgres", "--", "env" }.Concat(environment.Select(e => $"{e.Key}={e.Value}")).Append(autoctl))
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.WorkingDirectory = _folder;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        // PostgreSQL, started by pg_autoctl, would inherit the pipe otherwise.
        start.RedirectStandardInput = true;
        return start;
    }

    private async Task WaitForMonitorAsync()
    {
        var deadline = DateTime.UtcNow + SettleLimit;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(MonitorConnectionString);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT count(*) FROM pgautofailover.formation", connection);
                await command.ExecuteScalarAsync();
                return;
            }
            catch (NpgsqlException) when (DateTime.UtcNow < deadline && _monitor is { Process.HasExited: false })
            {
                await Task.Delay(200);
            }
        }
    }

    private static string? FindBinaries()
    {
        var candidates = new List<string>();
        var configuredBinaries = Environment.GetEnvironmentVariable("PG_BIN");
        if (configuredBinaries is { Length: > 0 })
        {
            candidates.Add(configuredBinaries);
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var major) ? major : 0).Select(d => Path.Combine(d, "bin")));
        }

        // pg_autoctl needs its extension in the server's own installation (Debian: /usr/share/postgresql/<major>/extension):
        // the newest server that has it, unless PG_BIN names one.
        return candidates.FirstOrDefault(dir => File.Exists(Path.Combine(dir, "pg_ctl")) && FindAutoctlFolderOrNull(dir) is not null
            && (dir == configuredBinaries || HasExtension(dir)));
    }

    /// <summary>The Debian layout: /usr/lib/postgresql/15/bin has its extensions in /usr/share/postgresql/15/extension.</summary>
    private static bool HasExtension(string binaries) =>
        File.Exists(Path.Combine("/usr/share/postgresql", Path.GetFileName(Path.GetDirectoryName(binaries)!) ?? "", "extension", "pgautofailover.control"));

    private static string FindAutoctlFolder(string binaries) =>
        FindAutoctlFolderOrNull(binaries) ?? throw new InvalidOperationException("pg_autoctl not found");

    private static string? FindAutoctlFolderOrNull(string binaries) =>
        new[] { binaries }.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)).Append("/usr/bin")
            .FirstOrDefault(dir => File.Exists(Path.Combine(dir, "pg_autoctl")));

    private static int? PostmasterPidIn(string dataDirectory)
    {
        try
        {
            return int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First().Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception error) when (error is IOException or FormatException or InvalidOperationException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Running, or at least not a zombie waiting for its parent.</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static List<int> Descendants(int root)
    {
        var all = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var parent))
        {
            foreach (var child in ProcessTree.ChildrenOf(parent))
            {
                all.Add(child);
                queue.Enqueue(child);
            }
        }

        return all;
    }

    private static async Task KillAsync(List<int> pids, string signal = "KILL", bool mayBeGone = false)
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
}

/// <summary>One data node of a <see cref="PrivateFormation"/>: its name on the monitor, port and data folder.</summary>
public sealed class FormationNode(string name, int port, string dataDirectory)
{
    public string Name { get; } = name;

    public int Port { get; } = port;

    public string DataDirectory { get; } = dataDirectory;

    /// <summary>The postmaster's process id: the first line of postmaster.pid.</summary>
    public int PostmasterPid =>
        int.Parse(File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First().Trim(), CultureInfo.InvariantCulture);

    /// <summary>Its keeper runs (it was not killed, or was started again).</summary>
    public bool IsRunning => Keeper is { Process.HasExited: false };

    internal FormationKeeper? Keeper { get; set; }

    public override string ToString() => $"{Name} (127.0.0.1:{Port})";
}

/// <summary>A row of <c>pgautofailover.node</c>: the state a node reported and the one the monitor assigned it.</summary>
public sealed record NodeState(string Name, int Port, string Reported, string Assigned, int Health, bool PostgresRunning)
{
    /// <summary>Health 1: the monitor's last health check reached it.</summary>
    public bool Healthy => Health == 1;

    /// <summary>Reported and assigned the same state: the node has converged to it.</summary>
    public bool Is(string state) => Reported == state && Assigned == state;

    public override string ToString() => $"{Name}:{Port} {Reported}/{Assigned} health={Health}";
}

/// <summary>A foreground pg_autoctl and the lines it printed (the last 2,000).</summary>
internal sealed class FormationKeeper(string name, Process process)
{
    private readonly ConcurrentQueue<string> _output = new();

    public string Name { get; } = name;

    public Process Process { get; } = process;

    /// <summary>pg_autoctl's own pid: runuser's child as root, else the process itself.</summary>
    public int Pid => Environment.UserName == "root" ? ProcessTree.ChildrenOf(Process.Id).FirstOrDefault(Process.Id) : Process.Id;

    public IEnumerable<string> Output => _output;

    public void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 2000)
        {
            _output.TryDequeue(out _);
        }
    }
}
