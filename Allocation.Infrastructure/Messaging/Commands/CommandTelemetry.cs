using System.Diagnostics.Metrics;

namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>
/// The consumer's counters, on the meter "Allocation.Commands": commands by how they ended, and the
/// ones sent to allocation.commands.dead by why.
/// </summary>
internal sealed class CommandTelemetry
{
    public const string Name = "Allocation.Commands";

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

    public void Handled(CommandOutcome outcome) => _handled.Add(1, new KeyValuePair<string, object?>("outcome", outcome switch
    {
        CommandOutcome.Applied => "applied",
        CommandOutcome.Replayed => "replayed",
        _ => "rejected",
    }));

    public void DeadLettered(string reason) => _deadLettered.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Retried() => _retried.Add(1);
}
