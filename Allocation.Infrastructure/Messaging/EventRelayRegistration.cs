using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Allocation.Infrastructure;

public static class EventRelayRegistration
{
    /// <summary>
    /// Outbox retention always; with <c>ConnectionStrings:Broker</c> (an amqp:// or amqps:// URI) also
    /// the relay to RabbitMQ and its "relay" health check. Part of
    /// <see cref="DependencyInjection.AddInfrastructure"/>, after the database migrations.
    /// </summary>
    internal static IServiceCollection AddEventRelay(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var broker = BrokerUri(configuration.GetConnectionString("Broker"));

        services.AddOptions<EventsOptions>().Bind(configuration.GetSection(EventsOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EventsOptions>, EventsOptions.Validator>();
        services.AddSingleton<OutboxStore>();
        services.AddHostedService(sp => new OutboxPruner(
            sp.GetRequiredService<OutboxStore>(), sp.GetRequiredService<IOptions<EventsOptions>>(),
            publishedOnly: broker is not null, sp.GetRequiredService<ILogger<OutboxPruner>>()));
        if (broker is null)
        {
            return services;
        }

        services.AddSingleton<RelayState>();
        services.AddSingleton(_ => new AmqpEventPublisher(broker));
        services.AddHostedService<EventRelay>();
        // Only with a broker: in feed-only mode nothing is ever "published", so a backlog would just be the whole outbox.
        services.AddMetrics(); // the meter factory the gauges need (a no-op when the host has added it)
        services.AddSingleton<OutboxBacklogMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxBacklogMonitor>());
        services.AddHealthChecks().AddCheck<RelayHealthCheck>(
            "relay", HealthStatus.Degraded, tags: [HealthTags.Ready], timeout: TimeSpan.FromSeconds(3));
        return services;
    }

    private static Uri? BrokerUri(string? configured)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            return null;
        }

        // The URI may hold a password: it is not repeated in the error.
        return Uri.TryCreate(configured, UriKind.Absolute, out var uri) && uri.Scheme is "amqp" or "amqps"
            ? uri
            : throw new InvalidOperationException("ConnectionStrings:Broker must be an amqp:// or amqps:// URI, e.g. amqp://user:password@rabbitmq:5672/.");
    }
}
