using System.Reflection;

namespace Allocation.Api.Operations;

/// <summary>
/// A refusal to start (any exception out of Program: a missing database, a bad setting, options
/// validation, a hosted service that cannot start) ends the process the way an orchestrator and a
/// log pipeline expect: one Critical line, in the configured console format (JSON in Production),
/// naming the problem without a stack trace, and exit code 1 — not the runtime's crash report
/// (plain text on standard error, exit code 134). The exception is caught where the runtime would
/// report it (AppDomain.UnhandledException), so that Program.cs needs one line for all of this and
/// every refusal, wherever it is thrown, ends the same way. When a component has already said why
/// on a Critical line of its own (DatabaseStartup does), nothing more is logged; the host's own
/// "Hosting failed to start" line, which would repeat the reason with a stack trace, is left out.
/// Only in the service's own process: hosted by a test (WebApplicationFactory), the exception goes
/// to the test as before.
/// </summary>
internal static partial class StartupRefusal
{
    public const string Category = "Allocation.Api.Startup";

    /// <summary>The host's category, and its "Hosting failed to start" event (HostedServiceStartupFaulted).</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";
    private const int HostStartupFaulted = 11;

    private static IConfiguration? _configuration;
    private static int _installed;
    private static volatile bool _criticalLogged;
    private static volatile bool _started;

    public static void Install(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (Assembly.GetEntryAssembly() != typeof(StartupRefusal).Assembly || Interlocked.Exchange(ref _installed, 1) == 1)
        {
            return;
        }

        _configuration = builder.Configuration;
        builder.Services.AddSingleton<IHostedService, StartedMarker>();
        AppDomain.CurrentDomain.UnhandledException += (_, e) => Refuse(e.ExceptionObject as Exception);
    }

    /// <summary>Whether a log line is left out because the refusal's own line replaces it.</summary>
    internal static bool ReplacesLine(string category, EventId eventId) =>
        _installed == 1 && eventId.Id == HostStartupFaulted && string.Equals(category, HostCategory, StringComparison.Ordinal);

    /// <summary>Notes a Critical line: a component that refuses to start says why itself.</summary>
    internal static void Saw(LogLevel level)
    {
        if (level == LogLevel.Critical)
        {
            _criticalLogged = true;
        }
    }

    /// <summary>The reason: the exception's message and those of its causes, without stack traces.</summary>
    internal static string Describe(Exception? error)
    {
        if (error is null)
        {
            return "an unknown error";
        }

        var reasons = new List<string>();
        void Add(Exception e)
        {
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    Add(inner);
                }

                return;
            }

            if (e is TargetInvocationException { InnerException: { } invoked })
            {
                Add(invoked);
                return;
            }

            reasons.Add(reasons.Count == 0 ? e.Message : $"({e.GetType().Name}: {e.Message})");
            if (e.InnerException is { } cause)
            {
                Add(cause);
            }
        }

        Add(error);
        return string.Join(' ', reasons);
    }

    private static void Refuse(Exception? error)
    {
        try
        {
            if (!_criticalLogged)
            {
                using var logs = CreateLoggerFactory();
                var logger = logs.CreateLogger(Category);
                var reason = Describe(error);
                if (_started)
                {
                    LogStopped(logger, reason);
                }
                else
                {
                    LogRefused(logger, reason);
                }
            }
        }
        catch (Exception)
        {
            // The logging configuration itself may be what failed; the exit code still says it.
        }
        finally
        {
            Environment.Exit(1);
        }
    }

    /// <summary>Console logging as the host would have set it up from the same configuration (format, levels), redacted.</summary>
    private static RedactingLoggerFactory CreateLoggerFactory()
    {
        var configuration = _configuration ?? new ConfigurationBuilder().AddEnvironmentVariables().Build();
        return new RedactingLoggerFactory(LoggerFactory.Create(logging =>
        {
            logging.AddConfiguration(configuration.GetSection("Logging"));
            logging.AddConsole();
        }));
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Critical, Message = "Refusing to start: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Critical, Message = "Stopping on an unhandled exception: {Reason}")]
    private static partial void LogStopped(ILogger logger, string reason);

    /// <summary>Tells a refusal to start from a failure once running.</summary>
    private sealed class StartedMarker : IHostedLifecycleService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartedAsync(CancellationToken cancellationToken)
        {
            _started = true;
            return Task.CompletedTask;
        }

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
