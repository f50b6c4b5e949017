using Allocation.Infrastructure;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Allocation.Tests.Integration;

/// <summary>What AddEventRelay registers with and without ConnectionStrings:Broker.</summary>
public class RelayRegistrationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection()
            .AddLogging()
            // Never opened: the registrations are only resolved.
            .AddSingleton(_ => NpgsqlDataSource.Create("Host=127.0.0.1;Port=1"))
            .AddEventRelay(configuration)
            .BuildServiceProvider();
    }

    /// <summary>The hosted services from Messaging and Outbox (AddHealthChecks brings one of its own).</summary>
    private static IEnumerable<Type> Ours(ServiceProvider services) =>
        services.GetServices<IHostedService>().Select(s => s.GetType())
            .Where(t => t.Namespace == typeof(EventRelay).Namespace || t.Namespace == typeof(OutboxPruner).Namespace);

    [Test]
    public async Task Without_a_broker_only_retention_runs_and_there_is_no_relay_health_check()
    {
        await using var services = Build([]);

        Ours(services).Should().Equal(typeof(OutboxPruner));
        services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>().Value.Registrations
            .Should().NotContain(r => r.Name == "relay");
    }

    [Test]
    public async Task With_a_broker_the_relay_runs_and_its_health_check_reports_degraded_at_worst()
    {
        await using var services = Build(new() { ["ConnectionStrings:Broker"] = "amqp://guest:guest@127.0.0.1:5672/" });

        // The backlog monitor behind the allocation.outbox.* gauges runs only with a broker: without one nothing is "unpublished".
        Ours(services).Should().BeEquivalentTo([typeof(OutboxPruner), typeof(EventRelay), typeof(OutboxBacklogMonitor)]);
        services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>().Value.Registrations
            .Should().ContainSingle(r => r.Name == "relay").Which.FailureStatus.Should().Be(HealthStatus.Degraded);
    }

    [TestCase("http://user:secret@rabbitmq:5672/")]
    [TestCase("rabbitmq:5672")]
    public void A_broker_that_is_not_an_amqp_uri_stops_the_start_without_repeating_it(string broker)
    {
        var build = () => Build(new() { ["ConnectionStrings:Broker"] = broker });

        build.Should().Throw<InvalidOperationException>().WithMessage("ConnectionStrings:Broker must be an amqp://*")
            .Which.Message.Should().NotContain("secret");
    }

    [TestCase("Events:RelayBatchSize", "0")]
    [TestCase("Events:Retention", "00:00:00")]
    [TestCase("Events:RelayLease", "00:00:01")]
    public async Task Settings_out_of_range_stop_the_start_and_name_the_key(string key, string value)
    {
        // Validated as the host starts (ValidateOnStart), before any hosted service; StartupRefusalTests shows the refusal.
        await using var services = Build(new() { [key] = value });
        var start = () => services.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().WithMessage($"{key} *");
    }
}
