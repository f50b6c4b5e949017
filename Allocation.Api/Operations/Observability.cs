using Allocation.Api.Security;
using Allocation.Application.Common;
using Allocation.Infrastructure;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Allocation.Api.Operations;

/// <summary>
/// OpenTelemetry: metrics always (served at /metrics for Prometheus, and over OTLP when an endpoint
/// is configured); traces when they go somewhere (OTLP, or Telemetry:Tracing=true for a test's
/// exporter). Exporters run on their own threads: nothing is exported on a request's path.
/// </summary>
internal static class Observability
{
    public const string MetricsPath = "/metrics";

    /// <summary>Request durations and active requests; connections; handled exceptions; rate-limiter decisions.</summary>
    private static readonly string[] AspNetCoreMeters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.RateLimiting"];

    public static WebApplicationBuilder AddObservability(this WebApplicationBuilder builder)
    {
        var options = ObservabilityOptions.From(builder.Configuration);
        builder.Services.AddSingleton(options);
        // No credential in any log line, whoever writes it (LogRedaction).
        builder.Services.AddLogRedaction();
        // Every log line written inside a request carries its trace: the problem's traceId finds it.
        builder.Logging.Configure(logging => logging.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        if (!options.Enabled)
        {
            return builder;
        }

        if (options.MetricsPort is { } port)
        {
            // Added to the addresses the service already listens on (--urls, ASPNETCORE_URLS, or the default).
            var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey);
            builder.WebHost.UseUrls($"{(string.IsNullOrWhiteSpace(urls) ? "http://localhost:5000" : urls)};http://*:{port}");
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? "allocation"))
            .WithMetrics(metrics =>
            {
                metrics
                    // ASP.NET Core's own meters, chosen rather than AddAspNetCoreInstrumentation's all: the
                    // memory pool's and routing's instruments record several times per request for little news.
                    .AddMeter(AspNetCoreMeters)
                    .AddMeter(AllocationMetrics.MeterName)
                    .AddInfrastructureInstrumentation()
                    // Scrapes see the latest values: a scrape is cheap, and Prometheus scrapes seconds apart anyway.
                    .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
                foreach (var perStatement in InfrastructureTelemetry.PerStatementInstruments)
                {
                    metrics.AddView(perStatement, MetricStreamConfiguration.Drop);
                }
                if (options.OtlpConfigured)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (options.Tracing)
        {
            telemetry.WithTracing(tracing =>
            {
                tracing
                    .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = IsTraced)
                    .AddInfrastructureInstrumentation();
                if (options.OtlpConfigured)
                {
                    tracing.AddOtlpExporter();
                }
            });
        }

        return builder;
    }

    /// <summary>/metrics for Prometheus: on every port, or only on Metrics:Port when it is set.</summary>
    public static WebApplication MapObservability(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<ObservabilityOptions>();
        if (!options.Enabled)
        {
            return app;
        }

        if (options.MetricsPort is not { } port)
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath).DisableRequestTimeout();
            return app;
        }

        // RequireHost matches the Host header, which a client chooses: the connection's own port is checked as well,
        // so that the public port never serves the metrics whatever Host it is sent.
        app.MapPrometheusScrapingEndpoint(
                MetricsPath,
                meterProvider: null,
                configureBranchedPipeline: branch => branch.Use((context, next) =>
                {
                    if (context.Connection.LocalPort == port)
                    {
                        return next(context);
                    }

                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }),
                optionsName: null)
            .RequireHost($"*:{port}")
            .DisableRequestTimeout();
        return app;
    }

    /// <summary>Probes and scrapes come every few seconds and are not what anyone traces.</summary>
    private static bool IsTraced(HttpContext context) =>
        !context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
        && !context.Request.Path.StartsWithSegments(MetricsPath, StringComparison.OrdinalIgnoreCase);
}
