using System.Net;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;
using Allocation.Tests.Support;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// The whole API with every background service failing on every round with a bug (the relay cannot
/// connect, retention cannot prune, the gauges cannot sample): writes go on answering 201, the
/// services keep running and retrying, and the host never starts stopping.
/// </summary>
public class BackgroundFaultTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Writes_go_on_while_every_background_service_fails_with_a_bug_and_none_of_them_stops()
    {
        var database = await TestDatabase.SharedAsync();
        var (prune, sample, connect) = (new Counter(), new Counter(), new Counter());
        var settings = new Dictionary<string, string?>
        {
            // A broker is configured, so that the relay and the backlog monitor run too.
            ["ConnectionStrings:Broker"] = "amqp://127.0.0.1:1/",
            ["Events:PruneInterval"] = "00:00:00.050",
            ["Events:BacklogSampleInterval"] = "00:00:00.050",
        };
        await using var factory = new ApiFactory(database.ConnectionString, settings).WithWebHostBuilder(web => web.ConfigureTestServices(services =>
        {
            services.AddSingleton<OutboxStore>(s => new BuggyStore(s.GetRequiredService<NpgsqlDataSource>(), prune, sample));
            services.AddSingleton<AmqpEventPublisher>(_ => new BuggyPublisher(connect));
        }));
        factory.UseKestrel(0);
        factory.StartServer();
        using var client = factory.CreateClient();
        var lifetime = factory.Services.GetRequiredService<IHostApplicationLifetime>();
        var background = factory.Services.GetServices<IHostedService>().OfType<BackgroundService>()
            // The relay's and the outbox's services; the feed's hold-back monitor reads with statements of its own (FeedHoldBackTests).
            .Where(s => s.GetType().Namespace == typeof(EventRelay).Namespace
                || (s.GetType().Namespace == typeof(OutboxPruner).Namespace && s is not FeedHoldBackMonitor)).ToList();
        background.Select(s => s.GetType().Name).Should().BeEquivalentTo(["EventRelay", "OutboxPruner", "OutboxBacklogMonitor"]);

        var sku = Unique.Sku();
        await client.AddBatchAsync(Unique.BatchRef(), sku, 1000);
        var deadline = DateTime.UtcNow + Limit;
        var allocated = 0;
        // Each service has failed, backed off and failed again: at least two rounds each.
        while (connect.Calls < 2 || prune.Calls < 2 || sample.Calls < 2 || allocated < 5)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, $"tries: {connect.Calls} to connect, {prune.Calls} to prune, {sample.Calls} to sample");
            using var response = await client.PostJsonAsync("/allocate", new { orderid = Unique.OrderId(), sku, qty = 1 });
            response.StatusCode.Should().Be(HttpStatusCode.Created, "a failing background service never stops writes");
            allocated++;
            await Task.Delay(100);
        }

        lifetime.ApplicationStopping.IsCancellationRequested.Should().BeFalse("no background failure stops the host");
        background.Should().OnlyContain(s => s.ExecuteTask != null && !s.ExecuteTask.IsCompleted, "every service is still running, retrying");
    }

    private sealed class Counter
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public InvalidOperationException Bug(string what)
        {
            Interlocked.Increment(ref _calls);
            return new InvalidOperationException($"{what}: a bug");
        }
    }

    /// <summary>The statements the background services run fail; the rest (the health check's) work.</summary>
    private sealed class BuggyStore(NpgsqlDataSource dataSource, Counter prune, Counter sample) : OutboxStore(dataSource)
    {
        public override Task<IReadOnlyList<OutboxEvent>> ClaimAsync(int batchSize, TimeSpan lease, CancellationToken cancellationToken) =>
            Task.FromException<IReadOnlyList<OutboxEvent>>(new InvalidOperationException("claim: a bug"));

        public override Task<int> PruneAsync(TimeSpan retention, bool publishedOnly, int batchSize, CancellationToken cancellationToken) =>
            Task.FromException<int>(prune.Bug("prune"));

        public override Task<(long Count, TimeSpan OldestAge)> BacklogAsync(CancellationToken cancellationToken) =>
            Task.FromException<(long, TimeSpan)>(sample.Bug("backlog"));
    }

    private sealed class BuggyPublisher(Counter counter) : AmqpEventPublisher(new Uri("amqp://127.0.0.1:1/"))
    {
        public override bool IsConnected => false;

        public override Task ConnectAsync(CancellationToken cancellationToken) => Task.FromException(counter.Bug("connect"));
    }
}
