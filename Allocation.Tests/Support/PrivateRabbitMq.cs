using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using RabbitMQ.Client;

namespace Allocation.Tests.Support;

/// <summary>
/// A throwaway RabbitMQ node from the local server package (Debian: apt-get install rabbitmq-server),
/// on free loopback ports, with its data, logs and Erlang cookie in a temporary folder. It can be
/// stopped and started again on the same data and ports, as a broker outage does.
/// </summary>
/// <remarks>
/// The node runs as the current user (root in CI) from the package's own scripts, not Debian's
/// /usr/sbin wrappers, which switch to the rabbitmq user and its shared cookie in /var/lib/rabbitmq.
/// HOME points at the temporary folder, so the Erlang cookie the node and rabbitmqctl share is one
/// written there: a cookie left in the real $HOME (/root in CI), with whatever content or mode, is
/// never read, and none is written there.
/// </remarks>
public sealed class PrivateRabbitMq : IAsyncDisposable
{
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(60);

    private readonly string _binaries;
    private readonly string _folder;
    private readonly int _distributionPort;
    private readonly int _epmdPort;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _epmd;
    private Process? _server;

    private PrivateRabbitMq(string binaries, string folder, int amqpPort, int distributionPort, int epmdPort)
    {
        _binaries = binaries;
        _folder = folder;
        AmqpPort = amqpPort;
        _distributionPort = distributionPort;
        _epmdPort = epmdPort;
        NodeName = $"allocation-{Path.GetFileName(folder)}@localhost";
    }

    public int AmqpPort { get; }

    public string NodeName { get; }

    /// <summary>The broker's URI as the service is configured with it (ConnectionStrings:Broker).</summary>
    public Uri Uri => new($"amqp://guest:guest@127.0.0.1:{AmqpPort}/");

    /// <summary>What the server printed, for failure messages.</summary>
    public string Output => string.Join('\n', _output);

    public static async Task<PrivateRabbitMq> StartAsync()
    {
        var binaries = FindBinaries() ?? throw new InvalidOperationException(
            "No RabbitMQ for the tests: install the server package (Debian: apt-get install rabbitmq-server), " +
            "or set RABBITMQ_BIN to the folder holding rabbitmq-server and rabbitmqctl.");
        var folder = Directory.CreateTempSubdirectory("allocation-rmq-").FullName;
        var ports = DistinctFreePorts(3);
        var broker = new PrivateRabbitMq(binaries, folder, ports[0], ports[1], ports[2]);
        try
        {
            broker.WritePrivateFiles();
            broker.StartEpmd();
            await broker.StartAgainAsync();
            return broker;
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the (stopped) node again, on the same ports and data; returns once it takes AMQP connections.</summary>
    public async Task StartAgainAsync()
    {
        var start = Prepare(Path.Combine(_binaries, "rabbitmq-server"));
        _server = Process.Start(start) ?? throw new InvalidOperationException("Could not start rabbitmq-server");
        _server.OutputDataReceived += (_, e) => Keep(e.Data);
        _server.ErrorDataReceived += (_, e) => Keep(e.Data);
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        await WaitUntilReadyAsync(_server);
    }

    /// <summary>Stops the node (rabbitmqctl stop) and waits for its process to end; durable queues and persistent messages survive.</summary>
    public async Task StopAsync()
    {
        if (_server is not { HasExited: false } server)
        {
            return;
        }

        await RunToolAsync("rabbitmqctl", ["stop"]);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await server.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    /// <summary>Runs a rabbitmqctl command against this node, e.g. ["purge_queue", name]; returns its output.</summary>
    public Task<string> CtlAsync(params string[] arguments) => RunToolAsync("rabbitmqctl", arguments);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            _server?.Kill(entireProcessTree: true);
        }

        _server?.Dispose();
        if (_epmd is { HasExited: false } epmd)
        {
            // Ours alone: started below on a port of its own, stopped by its process id.
            epmd.Kill();
            await epmd.WaitForExitAsync();
        }

        _epmd?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private string Cookie => Path.Combine(_folder, ".erlang.cookie");

    private void WritePrivateFiles()
    {
        File.WriteAllText(Cookie, Guid.NewGuid().ToString("N"));
        if (!OperatingSystem.IsWindows())
        {
            // Erlang refuses a cookie that others can read.
            File.SetUnixFileMode(Cookie, UnixFileMode.UserRead);
        }
        File.WriteAllText(Path.Combine(_folder, "enabled_plugins"), "[].");
        File.WriteAllText(Path.Combine(_folder, "rabbitmq-env.conf"), "");
    }

    /// <summary>
    /// The node's port mapper, started here rather than by the node (which would start a daemon
    /// nobody owns): it stays up across stop and start, and is killed by its own process id at the end.
    /// </summary>
    private void StartEpmd()
    {
        var start = Prepare(FindOnPath("epmd") ?? "epmd");
        start.ArgumentList.Add("-address");
        start.ArgumentList.Add("127.0.0.1");
        start.ArgumentList.Add("-port");
        start.ArgumentList.Add(_epmdPort.ToString(CultureInfo.InvariantCulture));
        _epmd = Process.Start(start) ?? throw new InvalidOperationException("Could not start epmd");
        _epmd.OutputDataReceived += (_, e) => Keep(e.Data);
        _epmd.ErrorDataReceived += (_, e) => Keep(e.Data);
        _epmd.BeginOutputReadLine();
        _epmd.BeginErrorReadLine();
    }

    private ProcessStartInfo Prepare(string program)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = _folder,
        };
        var port = (int value) => value.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in new Dictionary<string, string>
        {
            ["HOME"] = _folder,
            ["RABBITMQ_NODENAME"] = NodeName,
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODE_PORT"] = port(AmqpPort),
            ["RABBITMQ_DIST_PORT"] = port(_distributionPort),
            ["ERL_EPMD_PORT"] = port(_epmdPort),
            ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(_folder, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(_folder, "log"),
            ["RABBITMQ_PID_FILE"] = Path.Combine(_folder, "rabbitmq.pid"),
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_folder, "enabled_plugins"),
            // Nothing from the machine's /etc/rabbitmq: this node is configured by the lines above alone.
            ["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(_folder, "rabbitmq-env.conf"),
            ["RABBITMQ_CONFIG_FILE"] = Path.Combine(_folder, "rabbitmq"),
            ["RABBITMQ_ADVANCED_CONFIG_FILE"] = Path.Combine(_folder, "advanced.config"),
            // Inter-node traffic on loopback only, like everything else here.
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        {
            start.Environment[key] = value;
        }

        return start;
    }

    /// <summary>
    /// Ready means an AMQP connection opens, which is what the tests need; polling for it is also far
    /// cheaper than starting an Erlang VM for each `rabbitmq-diagnostics -q ping`.
    /// </summary>
    private async Task WaitUntilReadyAsync(Process server)
    {
        var factory = new ConnectionFactory { Uri = Uri, RequestedConnectionTimeout = TimeSpan.FromSeconds(2), AutomaticRecoveryEnabled = false };
        var deadline = DateTime.UtcNow + StartLimit;
        while (true)
        {
            if (server.HasExited)
            {
                throw new InvalidOperationException($"rabbitmq-server exited with {server.ExitCode}:\n{Output}");
            }

            try
            {
                await using var connection = await factory.CreateConnectionAsync();
                return;
            }
            catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private async Task<string> RunToolAsync(string tool, IReadOnlyList<string> arguments)
    {
        var start = Prepare(Path.Combine(_binaries, tool));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {tool}");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}{await output}");
        }

        return await output;
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static int[] DistinctFreePorts(int count)
    {
        var ports = new HashSet<int>();
        while (ports.Count < count)
        {
            ports.Add(FreePort.Next());
        }

        return [.. ports];
    }

    /// <summary>The package's own scripts (Debian: /usr/lib/rabbitmq/bin), or RABBITMQ_BIN.</summary>
    private static string? FindBinaries()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("RABBITMQ_BIN") is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }

        candidates.Add("/usr/lib/rabbitmq/bin");
        candidates.AddRange(Directory.Exists("/usr/lib/rabbitmq/lib")
            ? Directory.GetDirectories("/usr/lib/rabbitmq/lib").OrderDescending().Select(d => Path.Combine(d, "sbin"))
            : []);
        return candidates.FirstOrDefault(dir => File.Exists(Path.Combine(dir, "rabbitmq-server")) && File.Exists(Path.Combine(dir, "rabbitmqctl")));
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);
}
