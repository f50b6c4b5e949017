using System.Diagnostics;
using Allocation.Application;
using Allocation.Application.Common;
using Allocation.Infrastructure;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;
using Allocation.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Allocation.Tests.Unit;

/// <summary>
/// Each background service meets exceptions nobody planned for (a bug, a driver error no rule
/// recognises) inside a real host that keeps .NET's default, StopHost: the service logs, backs off,
/// goes on and does its work once the fault is gone, and the host never starts stopping. Nothing
/// but each service's own loop keeps the host up here (the API's Ignore backstop is not in play).
/// </summary>
[NonParallelizable] // deadlines of a few seconds, and one test measures a pause to the second
public class HostedServiceFaultTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(15);

    /// <summary>Never opened: the fakes answer in its place.</summary>
    private static readonly NpgsqlDataSource Nowhere = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1");

    /// <summary>Pauses short enough for a test; the relay's real ones are tested below and in BackoffTests.</summary>
    private static Backoff Quick() => new(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(40));

    private static Exception[] Bugs(int count) =>
        [.. Enumerable.Range(1, count).Select(i => new InvalidOperationException($"bug {i}"))];

    [OneTimeTearDown]
    public static void DisposeTheDataSource() => Nowhere.Dispose();

    [Test]
    public async Task The_pruner_survives_unexpected_exceptions_and_prunes_again()
    {
        // Three times a bug, then a driver error StoreErrors does not recognise, then it works.
        var faults = new Faults([.. Bugs(3), new NpgsqlException("an error no rule recognises")]);
        var logger = new ListLogger<OutboxPruner>();
        var options = Options.Create(new EventsOptions { PruneInterval = TimeSpan.FromMilliseconds(20) });

        await using var running = await RunningHost.StartAsync(_ => new OutboxPruner(new FaultyStore(faults), options, publishedOnly: true, logger));
        await running.WaitUntilAsync(() => faults.Successes >= 2, "two rounds prune after the faults");

        running.ShouldStillRun();
        Logged(logger, 3103).Should().HaveCount(2, "the first bug, and the first of another type, with their traces")
            .And.OnlyContain(e => e.Level == LogLevel.Error && e.Error != null);
        Logged(logger, 3104).Should().HaveCount(2, "the same bug again is one line each, without the trace")
            .And.OnlyContain(e => e.Level == LogLevel.Warning && e.Error == null && e.Message.Contains("InvalidOperationException: bug", StringComparison.Ordinal));
        await running.StopAsync();
    }

    [Test]
    public async Task The_backlog_monitor_survives_unexpected_exceptions_and_samples_again()
    {
        var faults = new Faults(Bugs(3));
        var logger = new ListLogger<OutboxBacklogMonitor>();
        var options = Options.Create(new EventsOptions { BacklogSampleInterval = TimeSpan.FromMilliseconds(20) });

        await using var running = await RunningHost.StartAsync(services =>
            new OutboxBacklogMonitor(new FaultyStore(faults), options, services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), logger));
        await running.WaitUntilAsync(() => faults.Successes >= 2, "two samples after the faults");

        running.ShouldStillRun();
        running.Service.Last.Should().NotBeNull("the gauges have a sample");
        running.Service.Last!.Count.Should().Be(FaultyStore.Backlog);
        Logged(logger, 3202).Should().ContainSingle("only the first bug of the run carries its trace")
            .Which.Error.Should().BeOfType<InvalidOperationException>();
        Logged(logger, 3203).Should().HaveCount(2).And.OnlyContain(e => e.Error == null);
        await running.StopAsync();
    }

    [Test]
    public async Task The_relay_survives_unexpected_exceptions_even_when_dropping_the_connection_fails_too_and_publishes_again()
    {
        // Every claim fails three times with a bug; every reset of the connection throws as well.
        var faults = new Faults(Bugs(3));
        var store = new FaultyStore(faults);
        var publisher = new FakePublisher { ResetFails = true };
        var (state, logger) = (new RelayState(), new ListLogger<EventRelay>());
        var options = Options.Create(new EventsOptions { RelayIdleDelay = TimeSpan.FromMilliseconds(10) });

        await using var running = await RunningHost.StartAsync(_ => new EventRelay(store, publisher, state, options, logger) { Retry = Quick() });
        await running.WaitUntilAsync(() => store.Marked.Count >= 2, "two events published and marked after the faults");

        running.ShouldStillRun();
        var marked = store.Marked.ToList();
        publisher.Published.ToList().Should().StartWith(marked, "what was marked is what the broker confirmed");
        state.Problem.Should().BeNull("a successful round clears the relay's problem for the health check");
        Logged(logger, 3004).Should().ContainSingle().Which.Error.Should().BeOfType<InvalidOperationException>();
        Logged(logger, 3007).Should().HaveCount(2).And.OnlyContain(e => e.Error == null);
        Logged(logger, 3008).Should().NotBeEmpty("the failing reset is reported, and survived");
        await running.StopAsync();
    }

    [Test]
    public async Task After_a_long_broker_outage_the_relay_publishes_within_its_capped_pause_of_the_broker_s_return()
    {
        var store = new FaultyStore(new Faults([]));
        var publisher = new FakePublisher { Up = false };
        var options = Options.Create(new EventsOptions { RelayIdleDelay = TimeSpan.FromMilliseconds(10) });
        // The relay's own back-off, as a long outage has left it: every pause from now on at its cap.
        var retry = new Backoff(TimeSpan.FromMilliseconds(500), EventRelay.MaxRetryDelay);
        for (var failure = 0; failure < 10; failure++)
        {
            retry.Next();
        }

        await using var running = await RunningHost.StartAsync(_ => new EventRelay(store, publisher, new RelayState(), options, new ListLogger<EventRelay>()) { Retry = retry });
        await running.WaitUntilAsync(() => publisher.ConnectAttempts >= 2, "the relay retried the broker");
        var back = Stopwatch.StartNew();
        publisher.Up = true;
        await running.WaitUntilAsync(() => !store.Marked.IsEmpty, "an event published once the broker is back");

        back.Elapsed.Should().BeLessThan(EventRelay.MaxRetryDelay + TimeSpan.FromSeconds(1), "the pause after an outage is capped");
        EventRelay.MaxRetryDelay.Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(5), "delivery resumes within seconds of the broker's return");
        running.ShouldStillRun();
        await running.StopAsync();
    }

    private static List<(LogLevel Level, EventId Event, string Message, Exception? Error)> Logged<T>(ListLogger<T> logger, int eventId) =>
        [.. logger.Entries.Where(e => e.Event.Id == eventId)];

    /// <summary>Throws the given exceptions on the first calls, one each, then lets calls through.</summary>
    internal sealed class Faults(Exception[] errors)
    {
        private int _calls;

        public int Successes => Math.Max(0, Volatile.Read(ref _calls) - errors.Length);

        public void Next()
        {
            var call = Interlocked.Increment(ref _calls) - 1;
            if (call < errors.Length)
            {
                throw errors[call];
            }
        }
    }

    /// <summary>The outbox statements the hosted services run, failing as <see cref="Faults"/> says, then answering.</summary>
    private sealed class FaultyStore(Faults faults) : OutboxStore(Nowhere)
    {
        public const long Backlog = 7;
        private long _nextId;

        public System.Collections.Concurrent.ConcurrentQueue<long> Marked { get; } = new();

        public override async Task<int> PruneAsync(TimeSpan retention, bool publishedOnly, int batchSize, CancellationToken cancellationToken)
        {
            await Task.Yield();
            faults.Next();
            return 0;
        }

        public override async Task<(long Count, TimeSpan OldestAge)> BacklogAsync(CancellationToken cancellationToken)
        {
            await Task.Yield();
            faults.Next();
            return (Backlog, TimeSpan.FromSeconds(2));
        }

        /// <summary>One new event per claim once the faults are over.</summary>
        public override async Task<IReadOnlyList<OutboxEvent>> ClaimAsync(int batchSize, TimeSpan lease, CancellationToken cancellationToken)
        {
            await Task.Yield();
            faults.Next();
            var id = Interlocked.Increment(ref _nextId);
            return [new OutboxEvent(id, Guid.NewGuid(), "allocation.line.allocated", "LAMP", id, DateTime.UtcNow, "{}")];
        }

        public override Task<int> MarkPublishedAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
        {
            foreach (var id in ids)
            {
                Marked.Enqueue(id);
            }

            return Task.FromResult(ids.Count);
        }

        public override Task<int> ReleaseAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) => Task.FromResult(ids.Count);
    }

    /// <summary>A broker that confirms everything while <see cref="Up"/>, and refuses connections otherwise.</summary>
    private sealed class FakePublisher() : AmqpEventPublisher(new Uri("amqp://127.0.0.1:1/"))
    {
        private volatile bool _up = true;
        private volatile bool _connected;
        private int _connectAttempts;

        public bool Up
        {
            get => _up;
            set => _up = value;
        }

        /// <summary>Resetting throws an exception of no expected kind (after letting go of the connection, as the real one does).</summary>
        public bool ResetFails { get; init; }

        public int ConnectAttempts => Volatile.Read(ref _connectAttempts);

        public System.Collections.Concurrent.ConcurrentQueue<long> Published { get; } = new();

        public override bool IsConnected => _connected;

        public override async Task ConnectAsync(CancellationToken cancellationToken)
        {
            await Task.Yield();
            Interlocked.Increment(ref _connectAttempts);
            _connected = _up ? true : throw new IOException("Connection refused");
        }

        public override Task<PublishOutcome> PublishAsync(IReadOnlyList<OutboxEvent> events, CancellationToken cancellationToken)
        {
            foreach (var outboxEvent in events)
            {
                Published.Enqueue(outboxEvent.Id);
            }

            return Task.FromResult(new PublishOutcome([.. events.Select(e => e.Id)], null));
        }

        public override Task ResetAsync()
        {
            _connected = false;
            return ResetFails ? throw new InvalidOperationException("closing failed unexpectedly") : Task.CompletedTask;
        }
    }

    /// <summary>A real generic host running one hosted service, with .NET's default reaction to a failed one: stop the host.</summary>
    private sealed class RunningHost<T> : IAsyncDisposable
        where T : BackgroundService
    {
        private readonly IHost _host;
        private readonly IHostApplicationLifetime _lifetime;

        public RunningHost(IHost host)
        {
            _host = host;
            _lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            Service = host.Services.GetRequiredService<T>();
        }

        public T Service { get; }

        /// <summary>Polls <paramref name="condition"/>; fails at once when the host starts stopping or the service has ended.</summary>
        public async Task WaitUntilAsync(Func<bool> condition, string because)
        {
            var deadline = Stopwatch.StartNew();
            while (!condition())
            {
                ShouldStillRun();
                if (deadline.Elapsed > Limit)
                {
                    Assert.Fail($"Not within {Limit}: {because}");
                }

                await Task.Delay(10);
            }
        }

        public void ShouldStillRun()
        {
            Service.ExecuteTask.Should().NotBeNull();
            if (Service.ExecuteTask!.IsCompleted)
            {
                Assert.Fail($"{typeof(T).Name} ended ({Service.ExecuteTask.Status}): {Service.ExecuteTask.Exception?.InnerException}");
            }

            _lifetime.ApplicationStopping.IsCancellationRequested.Should().BeFalse("no background failure may stop the host");
        }

        public async Task StopAsync()
        {
            await _host.StopAsync();
            Service.ExecuteTask!.IsCompletedSuccessfully.Should().BeTrue("the service ends when the host stops it, not by failing");
        }

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }

    private static class RunningHost
    {
        public static async Task<RunningHost<T>> StartAsync<T>(Func<IServiceProvider, T> create)
            where T : BackgroundService
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            // The default, said out loud: here nothing but the service itself keeps the host up.
            builder.Services.Configure<HostOptions>(host => host.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost);
            builder.Services.AddMetrics();
            builder.Services.AddSingleton(create);
            builder.Services.AddHostedService(services => services.GetRequiredService<T>());
            var host = builder.Build();
            await host.StartAsync();
            return new RunningHost<T>(host);
        }
    }
}
