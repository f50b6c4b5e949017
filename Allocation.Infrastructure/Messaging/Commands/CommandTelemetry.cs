using System.Diagnostics;
using System.Diagnostics.Metrics;
using Allocation.Infrastructure.Telemetry;

namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>
/// The consumer's counters, on the meter "Allocation.Commands": commands by how they ended, and the
/// ones sent to allocation.commands.dead by why. And its spans, on the ActivitySource of the same name:
/// one consumer span per delivery, a child of the sender's span when the command carries its W3C trace context.
/// </summary>
internal sealed class CommandTelemetry
{
    /// <summary>The Meter and the ActivitySource of the command consumer.</summary>
    public const string Name = "Allocation.Commands";

    private static readonly ActivitySource Source = new(Name);

    private readonly Counter<long> _handled;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _retried;

    public CommandTelemetry(IMeterFactory? meterFactory = null)
    {
        var meter = meterFactory?.Create(Name) ?? new Meter(Name);
        _handled = meter.CreateCounter<long>(
            "allocation.commands.handled", unit: "{command}", description: "Commands acknowledged, by outcome (applied, replayed, rejected).");
        _deadLettered = meter.CreateCounter<long>(
            "allocation.commands.dead_lettered", unit: "{command}",
            description: "Commands sent to allocation.commands.dead, by reason (malformed, id_reused, expired, poison).");
        _retried = meter.CreateCounter<long>(
            "allocation.commands.retried", unit: "{attempt}", description: "Attempts at a command that failed for a transient reason and were tried again.");
    }

    /// <summary>
    /// The span of handling one delivery: a child of <paramref name="sender"/> when the command carried a
    /// valid trace context, otherwise the root of a trace of its own. Null when nobody listens (tracing off).
    /// The request's spans (the database's) and the events the command writes belong to it.
    /// </summary>
    public static Activity? StartProcess(TraceContext? sender, string? messageId, string? commandType, int delivery)
    {
        // Never whatever happened to be current: a command without a context starts a new trace.
        Activity.Current = null;
        var activity = Source.StartActivity(
            "process " + CommandTopology.Queue, ActivityKind.Consumer, sender?.ToActivityContext() ?? default(ActivityContext));
        if (activity is { IsAllDataRequested: true })
        {
            // OpenTelemetry's messaging semantic conventions, and the CloudEvents ones for the envelope.
            activity.SetTag("messaging.system", "rabbitmq");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.operation.name", "process");
            activity.SetTag("messaging.destination.name", CommandTopology.Queue);
            activity.SetTag("messaging.message.id", messageId);
            activity.SetTag("messaging.rabbitmq.message.delivery_count", delivery);
            activity.SetTag("cloudevents.event_id", messageId);
            activity.SetTag("cloudevents.event_type", commandType);
        }

        return activity;
    }

    /// <summary>How the span's command ended; a dead letter is an error of the span.</summary>
    public static void Ended(Activity? span, string outcome, bool failed = false)
    {
        span?.SetTag("allocation.command.outcome", outcome);
        if (failed)
        {
            span?.SetStatus(ActivityStatusCode.Error, outcome);
        }
    }

    public void Handled(CommandOutcome outcome) => _handled.Add(1, new KeyValuePair<string, object?>("outcome", OutcomeName(outcome)));

    /// <summary>The outcome's label value (and span tag).</summary>
    public static string OutcomeName(CommandOutcome outcome) => outcome switch
    {
        CommandOutcome.Applied => "applied",
        CommandOutcome.Replayed => "replayed",
        _ => "rejected",
    };

    public void DeadLettered(string reason) => _deadLettered.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Retried() => _retried.Add(1);
}
