using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Allocation.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL cluster in a temporary folder, on a free loopback port, started from the
/// local server binaries. As root it runs them as the postgres user: PostgreSQL refuses root.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _binaries;
    private readonly string _folder;

    private readonly bool _durable;

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
            await RunAsync("chown", ["postgres", folder]);
        }

        var postgres = new PrivatePostgres(binaries, folder, FreePort(), durable);
        await postgres.RunAsOwnerAsync("initdb", ["-D", postgres.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
        await postgres.StartAgainAsync();
        return postgres;
    }

    /// <summary>Starts the (stopped) server again on the same port and data.</summary>
    public Task StartAgainAsync() =>
        RunAsOwnerAsync("pg_ctl", [
            "-D", DataDirectory, "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60",
            "-o", $"-p {Port} -c listen_addresses=127.0.0.1 -k {_folder} -c max_connections=300" +
                (_durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"),
            "start",
        ]);

    /// <summary>Stops the server the hard way, as a crash or a killed container would.</summary>
    public Task StopAsync() => RunAsOwnerAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]);

    public async ValueTask DisposeAsync()
    {
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task RunAsOwnerAsync(string tool, IReadOnlyList<string> arguments) =>
        IsRoot
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_binaries, tool), .. arguments])
            : RunAsync(Path.Combine(_binaries, tool), arguments);

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // pg_ctl's server inherits the pipes otherwise, and reading them to the end would never finish.
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}{await output}");
        }
    }
}
