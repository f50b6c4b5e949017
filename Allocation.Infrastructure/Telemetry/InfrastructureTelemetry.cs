using System.Diagnostics;
using Allocation.Infrastructure.Messaging;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Allocation.Infrastructure;

/// <summary>
/// What Infrastructure contributes to the host's OpenTelemetry providers: Npgsql's spans and pool
/// metrics, and the event relay's publish spans and outbox gauges. The host decides on exporters.
/// </summary>
public static class InfrastructureTelemetry
{
    /// <summary>The pool's name in Npgsql's metrics (db.client.connection.pool.name): a constant, never the connection string.</summary>
    public const string PoolName = "allocation";

    /// <summary>
    /// Npgsql's instruments recorded several times on every statement: together they cost more CPU
    /// than the rest of the metrics, and the request durations already show what a slow database
    /// does to callers. The host drops them (a view needs the OpenTelemetry SDK, which this project does not reference).
    /// </summary>
    public static IReadOnlyList<string> PerStatementInstruments { get; } =
    [
        "db.client.operation.duration",
        "db.client.operation.npgsql.bytes_read",
        "db.client.operation.npgsql.bytes_written",
        "db.client.operation.npgsql.executing",
    ];

    /// <summary>
    /// Npgsql's command spans (only inside a traced operation, see <see cref="ConfigureDataSource"/>), the relay's
    /// publish spans and the command consumer's process spans.
    /// </summary>
    public static TracerProviderBuilder AddInfrastructureInstrumentation(this TracerProviderBuilder tracing) =>
        tracing.AddNpgsql().AddSource(RelayTelemetry.Name, Messaging.Commands.CommandTelemetry.Name);

    /// <summary>Npgsql's connection-pool metrics (meter "Npgsql") and the outbox gauges (meter "Allocation.Relay").</summary>
    public static MeterProviderBuilder AddInfrastructureInstrumentation(this MeterProviderBuilder metrics) =>
        metrics.AddNpgsqlInstrumentation().AddMeter(RelayTelemetry.Name, Messaging.Commands.CommandTelemetry.Name);

    internal static NpgsqlDataSourceBuilder ConfigureDataSource(NpgsqlDataSourceBuilder builder)
    {
        builder.Name = PoolName;
        builder.ConfigureTracing(tracing => tracing
            // A span per statement only as part of a traced operation (a request, a relay publish):
            // the relay's idle polling and the health probe would otherwise start a trace of their own every few hundred ms.
            .ConfigureCommandFilter(_ => Activity.Current is not null)
            .ConfigureBatchFilter(_ => Activity.Current is not null)
            // An event per statement for the first response costs an allocation and tells little the span's duration does not.
            .EnableFirstResponseEvent(false));
        return builder;
    }
}
