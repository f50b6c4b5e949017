using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Allocation.Tests.Support;

/// <summary>
/// The API as a separate operating-system process, as it runs in production: several of them
/// can share one database, and one can be sent SIGTERM.
/// </summary>
public sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _standardOutput = new();

    private ApiProcess(Process process, Uri baseAddress, bool bearer)
    {
        _process = process;
        BaseAddress = baseAddress;
        Client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer)
        {
            Client.DefaultRequestHeaders.Authorization = TestTokens.Header(TestTokens.AllScopes);
        }

        _process.OutputDataReceived += (_, e) =>
        {
            Keep(e.Data);
            if (e.Data is not null)
            {
                _standardOutput.Enqueue(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output => string.Join('\n', _output);

    /// <summary>What the process wrote to standard output alone (its log), line by line.</summary>
    public IReadOnlyList<string> StandardOutputLines => [.. _standardOutput];

    /// <summary>
    /// Starts the built API with the given settings (as environment variables) on a free port. It
    /// trusts the suite's token issuer and <see cref="Client"/> sends a token with every scope, unless
    /// <paramref name="bearer"/> is false: then neither (the settings must configure authentication).
    /// It runs in its own folder unless given <paramref name="workingDirectory"/>, and logs single-line
    /// plain text unless <paramref name="productionLogFormat"/>: then in whatever its appsettings say.
    /// </summary>
    public static async Task<ApiProcess> StartAsync(
        string connectionString, IReadOnlyDictionary<string, string>? settings = null, bool waitUntilHealthy = true, bool bearer = true,
        string? workingDirectory = null, bool productionLogFormat = false)
    {
        var port = FreePort.Next();
        var apiDll = Path.Combine(AppContext.BaseDirectory.Replace("Allocation.Tests", "Allocation.Api", StringComparison.Ordinal), "Allocation.Api.dll");
        if (!File.Exists(apiDll))
        {
            throw new FileNotFoundException("Build the API first (dotnet build builds it with the tests).", apiDll);
        }

        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { apiDll, "--urls", $"http://127.0.0.1:{port}" },
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(apiDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Logging__LogLevel__Default"] = "Warning",
                ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
                ["Logging__Console__FormatterName"] = "simple",
                ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            },
        };
        if (productionLogFormat)
        {
            start.Environment.Remove("Logging__Console__FormatterName");
            start.Environment.Remove("Logging__Console__FormatterOptions__SingleLine");
        }

        // Empty: no database configured at all, for the tests of that refusal.
        if (connectionString.Length > 0)
        {
            start.Environment["ConnectionStrings__Allocation"] = connectionString;
        }
        else
        {
            start.Environment.Remove("ConnectionStrings__Allocation");
        }

        foreach (var (key, value) in (bearer ? TestTokens.Settings() : new Dictionary<string, string>()).Concat(settings ?? new Dictionary<string, string>()))
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var api = new ApiProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"), bearer);
        if (waitUntilHealthy)
        {
            await api.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        }

        return api;
    }

    /// <summary>
    /// Starts <paramref name="count"/> instances of the API on one database, all with the same
    /// settings, as a fleet behind a load balancer; returns once every one is healthy.
    /// </summary>
    public static async Task<IReadOnlyList<ApiProcess>> StartManyAsync(
        int count, string connectionString, IReadOnlyDictionary<string, string>? settings = null)
    {
        var starting = Enumerable.Range(0, count).Select(_ => StartAsync(connectionString, settings)).ToArray();
        try
        {
            return await Task.WhenAll(starting);
        }
        catch
        {
            // One failed: stop the ones that did start rather than leaving them running.
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }

            throw;
        }
    }

    public async Task WaitUntilHealthyAsync(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The API exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await Client.GetAsync(new Uri("/health", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The API was not healthy within {limit}:\n{Output}");
    }

    public int CountOutputLines(string containing) => _output.Count(line => line.Contains(containing, StringComparison.Ordinal));

    /// <summary>Asks the process to stop, as an orchestrator does.</summary>
    public void SendSigTerm()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed with {kill.ExitCode}");
        }
    }

    public async Task<bool> WaitForExitAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }
}
