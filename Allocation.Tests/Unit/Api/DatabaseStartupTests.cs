using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Infrastructure;
using Allocation.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Allocation.Tests.Unit.Api;

/// <summary>
/// Start-up migrations in a real generic host: a database outage is waited out, then the host starts;
/// an outage past Database:StartupWaitLimit, or an error that retrying cannot mend, refuses the start
/// on one Critical line.
/// </summary>
public class DatabaseStartupTests
{
    private static StoreUnavailable Outage() =>
        new("The database is unavailable (Failed to connect to 127.0.0.1:5432).", new NpgsqlException("Failed to connect to 127.0.0.1:5432"));

    private static (DatabaseStartup Startup, ListLogger<DatabaseStartup> Logger, Func<int> Calls) Startup(
        Func<int, Exception?> failure, TimeSpan? waitLimit = null)
    {
        var calls = 0;
        var logger = new ListLogger<DatabaseStartup>();
        var options = Options.Create(new DatabaseOptions { StartupWaitLimit = waitLimit ?? TimeSpan.FromSeconds(30) });
        var startup = new DatabaseStartup(
            async _ =>
            {
                await Task.Yield();
                if (failure(++calls) is { } error)
                {
                    throw error;
                }
            },
            options,
            logger)
        {
            Retry = new Backoff(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(40)),
        };
        return (startup, logger, () => calls);
    }

    private static IHost Host(DatabaseStartup startup)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddHostedService(_ => startup);
        return builder.Build();
    }

    [Test]
    public async Task A_database_that_is_down_at_start_is_waited_for_and_then_the_host_starts()
    {
        var (startup, logger, calls) = Startup(call => call <= 4 ? Outage() : null);
        using var host = Host(startup);

        await host.StartAsync();

        calls().Should().Be(5, "four outages, then the migrations ran");
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStarted.IsCancellationRequested.Should().BeTrue("the host started");
        lifetime.ApplicationStopping.IsCancellationRequested.Should().BeFalse();
        logger.Entries.Should().HaveCount(4).And.OnlyContain(
            e => e.Event.Id == 2001 && e.Level == LogLevel.Warning && e.Error == null && e.Message.Contains("127.0.0.1", StringComparison.Ordinal),
            "one line per try, saying why, without a stack trace");
        await host.StopAsync();
    }

    [Test]
    public async Task A_database_still_down_past_the_wait_limit_refuses_the_start_on_one_critical_line()
    {
        var (startup, logger, calls) = Startup(_ => Outage(), waitLimit: TimeSpan.FromMilliseconds(300));
        using var host = Host(startup);

        var start = () => host.StartAsync();

        await start.Should().ThrowAsync<StoreUnavailable>("the process exits non-zero");
        calls().Should().BeGreaterThan(1, "it was retried until the limit");
        logger.Entries.Should().ContainSingle(e => e.Level == LogLevel.Critical)
            .Which.Should().Match<(LogLevel Level, EventId Event, string Message, Exception? Error)>(
                e => e.Event.Id == 2002 && e.Message.Contains("Database:StartupWaitLimit", StringComparison.Ordinal));
    }

    [Test]
    public async Task An_error_retrying_cannot_mend_refuses_the_start_at_once_on_one_critical_line()
    {
        var (startup, logger, calls) = Startup(_ => new InvalidOperationException("Migration 0042-broken.sql failed."));
        using var host = Host(startup);

        var start = () => host.StartAsync();

        await start.Should().ThrowAsync<InvalidOperationException>();
        calls().Should().Be(1, "a broken migration or setting is not retried for minutes");
        logger.Entries.Should().ContainSingle().Which.Should().Match<(LogLevel Level, EventId Event, string Message, Exception? Error)>(
            e => e.Event.Id == 2003 && e.Level == LogLevel.Critical && e.Error is InvalidOperationException);
    }
}
