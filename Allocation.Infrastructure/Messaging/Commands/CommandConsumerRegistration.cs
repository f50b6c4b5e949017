using Allocation.Infrastructure.Messaging.Commands;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Allocation.Infrastructure;

public static class CommandConsumerRegistration
{
    /// <summary>
    /// With <c>ConnectionStrings:Broker</c> (and <c>Events:Commands:Enabled</c>, on by default): the consumer
    /// of allocation.commands and its "commands" health check. Register after <c>AddEventRelay</c>, which
    /// refuses a broker URI that is not amqp:// or amqps://, and after the migrations' hosted service.
    /// </summary>
    public static IServiceCollection AddCommandConsumer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(CommandConsumerOptions.SectionName);
        // Bound and validated as the host starts (ValidateOnStart) even when the consumer does not run,
        // so a bad setting is found before the broker is configured, not after.
        services.AddOptions<CommandConsumerOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CommandConsumerOptions>, CommandConsumerOptions.Validator>());
        // Whether it runs decides what is registered, so it is read here; the other settings are read from IOptions.
        if (!section.GetValue(nameof(CommandConsumerOptions.Enabled), defaultValue: true)
            || configuration.GetConnectionString("Broker") is not { Length: > 0 } configured
            || !Uri.TryCreate(configured, UriKind.Absolute, out var broker))
        {
            return services;
        }

        services.AddMetrics();
        services.AddSingleton(sp => new CommandTelemetry(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton<CommandConsumerState>();
        services.AddSingleton(sp => new CommandInbox(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IOptions<Persistence.IdempotencyOptions>>()));
        services.AddSingleton(sp => new CommandHandler(sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<CommandInbox>()));
        services.AddHostedService(sp => new CommandConsumer(
            broker,
            sp.GetRequiredService<CommandHandler>(),
            sp.GetRequiredService<CommandConsumerState>(),
            sp.GetRequiredService<CommandTelemetry>(),
            sp.GetRequiredService<IOptions<CommandConsumerOptions>>(),
            sp.GetRequiredService<ILogger<CommandConsumer>>()));
        services.AddHealthChecks().AddCheck<CommandConsumerHealthCheck>(
            "commands", HealthStatus.Degraded, tags: [HealthTags.Ready], timeout: TimeSpan.FromSeconds(3));
        return services;
    }
}
