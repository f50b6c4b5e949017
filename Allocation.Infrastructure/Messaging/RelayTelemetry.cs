using System.Diagnostics;
using Allocation.Infrastructure.Telemetry;

namespace Allocation.Infrastructure.Messaging;

/// <summary>
/// The relay's spans: one producer span per published batch. Each message carries, in its
/// <c>traceparent</c>/<c>tracestate</c> headers, the W3C trace context of the operation that wrote its
/// event (the request or the command, kept in the outbox row) when it was traced, and otherwise the
/// publish span's, so that a consumer's span joins that trace. The publish span links to the writers' contexts.
/// </summary>
internal static class RelayTelemetry
{
    /// <summary>The ActivitySource and the Meter of the relay and the outbox.</summary>
    public const string Name = "Allocation.Relay";

    private static readonly ActivitySource Source = new(Name);

    /// <summary>A span for publishing <paramref name="count"/> events; null when nobody listens (tracing off, or not sampled).</summary>
    /// <param name="count">How many events the batch has.</param>
    /// <param name="writers">The trace contexts kept with the batch's events: the span links to each (OpenTelemetry's batch publish).</param>
    public static Activity? StartPublish(int count, IEnumerable<TraceContext>? writers = null)
    {
        if (!Source.HasListeners())
        {
            // Tracing off: no span, so no links to parse the batch's stored contexts for.
            return null;
        }

        var links = writers?
            .Select(w => w.ToActivityContext())
            .Where(c => c != default)
            .Distinct()
            .Select(c => new ActivityLink(c))
            .ToList();
        var activity = Source.StartActivity(
            "publish " + AmqpEventPublisher.Exchange, ActivityKind.Producer, parentContext: default, links: links is { Count: > 0 } ? links : null);
        if (activity is { IsAllDataRequested: true })
        {
            // OpenTelemetry's messaging semantic conventions.
            activity.SetTag("messaging.system", "rabbitmq");
            activity.SetTag("messaging.operation.type", "send");
            activity.SetTag("messaging.operation.name", "publish");
            activity.SetTag("messaging.destination.name", AmqpEventPublisher.Exchange);
            activity.SetTag("messaging.batch.message_count", count);
        }

        return activity;
    }

    /// <summary>
    /// Puts into the message's headers the trace context its event was written in, else the publish span's
    /// (nothing when there is neither).
    /// </summary>
    public static void Inject(TraceContext? writer, Activity? publishing, IDictionary<string, object?> headers) =>
        (writer ?? TraceContext.Of(publishing))?.WriteTo(headers);

    public static void Failed(Activity? publishing, Exception failure)
    {
        publishing?.SetStatus(ActivityStatusCode.Error, failure.GetType().Name);
        publishing?.SetTag("error.type", failure.GetType().FullName);
    }
}
