using Allocation.Infrastructure.Messaging.Commands;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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
        var options = configuration.GetSection(CommandConsumerOptions.SectionName).Get<CommandConsumerOptions>() ?? new CommandConsumerOptions();
        options.Validate();
        if (!options.Enabled
            || configuration.GetConnectionString("Broker") is not { Length: > 0 } configured
            || !Uri.TryCreate(configured, UriKind.Absolute, out var broker))
        {
            return services;
        }

        services.AddSingleton(Options.Create(options));
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
