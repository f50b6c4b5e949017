using System.Diagnostics;
using System.Text;

namespace Allocation.Infrastructure.Telemetry;

/// <summary>
/// A W3C trace context as it travels outside the process: the <c>traceparent</c> and <c>tracestate</c>
/// values the relay writes into each message's AMQP headers, the command consumer reads back, and the
/// outbox keeps with each event (the trace of the operation that wrote it). The one reader and writer of
/// that format: an <see cref="Activity"/>'s W3C id is exactly a traceparent, and parsing is .NET's own.
/// </summary>
/// <param name="TraceParent">version-traceid-parentid-flags, e.g. 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.</param>
/// <param name="TraceState">Vendor entries, e.g. rojo=00f067aa0ba902b7; null when there are none.</param>
internal sealed record TraceContext(string TraceParent, string? TraceState)
{
    /// <summary>The W3C header names, also the CloudEvents distributed-tracing extension's attribute names.</summary>
    public const string TraceParentName = "traceparent";

    /// <inheritdoc cref="TraceParentName"/>
    public const string TraceStateName = "tracestate";

    /// <summary>The CloudEvents AMQP binding's name for the extension attribute in binary mode (application property <c>cloudEvents:traceparent</c>).</summary>
    public const string CloudEventsPrefix = "cloudEvents:";

    /// <summary>W3C: at most 32 entries of at most 256 characters, and a receiver may drop a longer tracestate; 512 is what it must keep.</summary>
    public const int MaxTraceStateLength = 512;

    /// <summary>
    /// The context of a span; null without one, or for one that is not a W3C span. Checked like a received
    /// one (<see cref="Parse"/>): a request span's tracestate is the client's header as it came.
    /// </summary>
    public static TraceContext? Of(Activity? span) =>
        span is { IdFormat: ActivityIdFormat.W3C, Id: { } id } ? Parse(id, span.TraceStateString) : null;

    /// <summary>
    /// The context of the current span when this service traces it (a listened-to ActivitySource made it: a
    /// request or a command with tracing on); null otherwise, so that with tracing off nothing is kept.
    /// </summary>
    public static TraceContext? OfTracedCurrent() =>
        Activity.Current is { } current && current.Source.HasListeners() ? Of(current) : null;

    /// <summary>
    /// A context as received: null when the traceparent is missing or malformed (the receiver then starts a
    /// trace of its own, never refuses the message). A tracestate that is too long or not printable ASCII is dropped alone.
    /// </summary>
    public static TraceContext? Parse(string? traceParent, string? traceState)
    {
        if (string.IsNullOrEmpty(traceParent)
            || !ActivityContext.TryParse(traceParent, null, isRemote: true, out var context)
            // All-zero ids are invalid (W3C); TryParse reads them as ids.
            || context.TraceId == default(ActivityTraceId) || context.SpanId == default(ActivitySpanId))
        {
            return null;
        }

        var state = traceState is { Length: > 0 and <= MaxTraceStateLength } && traceState.All(c => c is >= ' ' and <= '~') ? traceState : null;
        // Written again from what was parsed: a future version's extra fields are not passed on (W3C: send the version understood).
        return new TraceContext($"00-{context.TraceId}-{context.SpanId}-{(int)context.TraceFlags:x2}", state);
    }

    /// <summary>
    /// The context a message carries: its <c>traceparent</c> header (what the relay and most clients write)
    /// when valid, else the CloudEvents binary-mode <c>cloudEvents:traceparent</c>; the tracestate comes
    /// from the same place. Header values arrive as bytes (AMQP long strings) or text.
    /// </summary>
    public static TraceContext? ReadFrom(IDictionary<string, object?>? headers)
    {
        if (headers is null)
        {
            return null;
        }

        foreach (var prefix in (string[])["", CloudEventsPrefix])
        {
            if (Text(headers, prefix + TraceParentName) is { } traceParent
                && Parse(traceParent, Text(headers, prefix + TraceStateName)) is { } context)
            {
                return context;
            }
        }

        return null;
    }

    /// <summary>Puts the context into a message's headers.</summary>
    public void WriteTo(IDictionary<string, object?> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        headers[TraceParentName] = TraceParent;
        if (TraceState is not null)
        {
            headers[TraceStateName] = TraceState;
        }
    }

    /// <summary>The parent a span continuing this context takes.</summary>
    public ActivityContext ToActivityContext() =>
        ActivityContext.TryParse(TraceParent, TraceState, isRemote: true, out var context) ? context : default;

    private static string? Text(IDictionary<string, object?> headers, string name) =>
        headers.TryGetValue(name, out var value) ? value switch
        {
            string text => text,
            byte[] bytes => Encoding.UTF8.GetString(bytes),
            _ => null,
        }
        : null;
}
