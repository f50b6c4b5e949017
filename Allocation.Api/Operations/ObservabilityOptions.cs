namespace Allocation.Api.Operations;

/// <summary>What the operator chose about telemetry (sections <c>Telemetry</c> and <c>Metrics</c>, and the standard OTEL_* variables).</summary>
internal sealed record ObservabilityOptions(bool Enabled, bool Tracing, bool OtlpConfigured, int? MetricsPort)
{
    // The exporter reads the OTEL_EXPORTER_OTLP_* variables itself; here they only say whether to add it.
    private static readonly string[] OtlpEndpointVariables =
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"];

    public static ObservabilityOptions From(IConfiguration configuration)
    {
        var otlp = OtlpEndpointVariables.Any(name => !string.IsNullOrWhiteSpace(configuration[name]));
        var port = configuration.GetValue<int?>("Metrics:Port");
        if (port is not null and (< 1 or > 65535))
        {
            throw new InvalidOperationException($"Metrics:Port must be a TCP port (1-65535), not {port}.");
        }

        return new ObservabilityOptions(
            Enabled: configuration.GetValue("Telemetry:Enabled", true),
            // Spans cost CPU per request and per statement: made only when something takes them.
            Tracing: configuration.GetValue("Telemetry:Tracing", otlp),
            OtlpConfigured: otlp,
            MetricsPort: port);
    }
}
