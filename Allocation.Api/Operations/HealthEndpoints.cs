using System.Text.Json;
using Allocation.Infrastructure;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Allocation.Api.Operations;

/// <summary>
/// /health/live: the process is up and serving HTTP (no check runs; restart it if this fails).
/// /health/ready: the database answers (Unhealthy, 503, takes it out of the load balancer) and the
/// relay's state (Degraded, still 200: requests only write the outbox). /health: every check, as before.
/// All answer GET and HEAD with <c>{"status": "…"}</c>, outside the request deadline.
/// </summary>
internal static class HealthEndpoints
{
    public static WebApplication MapHealthEndpoints(this WebApplication app)
    {
        Map(app, "/health", _ => true);
        Map(app, "/health/ready", check => check.Tags.Contains(HealthTags.Ready));
        Map(app, "/health/live", _ => false);
        return app;
    }

    private static void Map(WebApplication app, string path, Func<HealthCheckRegistration, bool> predicate) =>
        app.MapHealthChecks(path, new HealthCheckOptions { Predicate = predicate, ResponseWriter = WriteStatus })
            .DisableRequestTimeout()
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));

    private static Task WriteStatus(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { status = report.Status.ToString() }));
    }
}
