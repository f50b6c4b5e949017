using System.Diagnostics;

namespace Allocation.Infrastructure.Messaging;

/// <summary>
/// The relay's spans: one producer span per published batch, whose W3C trace context every message
/// of the batch carries in its <c>traceparent</c>/<c>tracestate</c> headers, so that a consumer's
/// span joins the trace of the publish.
/// </summary>
internal static class RelayTelemetry
{
    /// <summary>The ActivitySource and the Meter of the relay and the outbox.</summary>
    public const string Name = "Allocation.Relay";

    private static readonly ActivitySource Source = new(Name);

    /// <summary>A span for publishing <paramref name="count"/> events; null when nobody listens (tracing off, or not sampled).</summary>
    public static Activity? StartPublish(int count)
    {
        var activity = Source.StartActivity("publish " + AmqpEventPublisher.Exchange, ActivityKind.Producer);
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

    /// <summary>Puts the span's W3C trace context into the message's headers (nothing without a span).</summary>
    public static void Inject(Activity? publishing, IDictionary<string, object?> headers)
    {
        if (publishing is null || publishing.IdFormat != ActivityIdFormat.W3C)
        {
            return;
        }

        // Activity.Id of a W3C activity is exactly the traceparent header's value.
        headers["traceparent"] = publishing.Id;
        if (!string.IsNullOrEmpty(publishing.TraceStateString))
        {
            headers["tracestate"] = publishing.TraceStateString;
        }
    }

    public static void Failed(Activity? publishing, Exception failure)
    {
        publishing?.SetStatus(ActivityStatusCode.Error, failure.GetType().Name);
        publishing?.SetTag("error.type", failure.GetType().FullName);
    }
}
