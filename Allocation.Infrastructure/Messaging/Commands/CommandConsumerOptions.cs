using Microsoft.Extensions.Options;

namespace Allocation.Infrastructure.Messaging.Commands;

/// <summary>
/// The command consumer's settings (configuration section <c>Events:Commands</c>, beside the relay's
/// in <c>Events</c>). It runs whenever <c>ConnectionStrings:Broker</c> is set, unless turned off here.
/// </summary>
public sealed class CommandConsumerOptions
{
    public const string SectionName = "Events:Commands";

    /// <summary>Consume allocation.commands when a broker is configured.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Unacknowledged commands the broker sends one instance ahead of its acks.</summary>
    public ushort Prefetch { get; set; } = 16;

    /// <summary>
    /// Deliveries after which a command that keeps failing for an unexpected reason (a bug, or one that
    /// kills the process) goes to allocation.commands.dead. Also the queue's x-delivery-limit, which the
    /// broker enforces for commands whose consumer died: a quorum queue's argument, fixed when it is first declared.
    /// </summary>
    public int MaxDeliveries { get; set; } = 10;

    /// <summary>How long one attempt at a command may take before it counts as a timeout (and is tried again).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first pause after a failure (database down, broker down); it doubles up to <see cref="LongestRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest pause between tries; also how long consumption may lag once the broker or the database is back.</summary>
    public TimeSpan LongestRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Every setting out of range, each named by its key, refuses the start (ValidateOnStart), with or without a broker.</summary>
    internal sealed class Validator : IValidateOptions<CommandConsumerOptions>
    {
        public ValidateOptionsResult Validate(string? name, CommandConsumerOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var failures = new List<string>();
            void Require(bool valid, string key, string rule)
            {
                if (!valid)
                {
                    failures.Add($"{SectionName}:{key} {rule}.");
                }
            }

            Require(options.Prefetch > 0, nameof(Prefetch), "must be at least 1");
            Require(options.MaxDeliveries is >= 2 and <= 1000, nameof(MaxDeliveries), "must be between 2 and 1000");
            Require(options.AttemptTimeout > TimeSpan.Zero, nameof(AttemptTimeout), "must be positive");
            Require(options.FirstRetryDelay > TimeSpan.Zero, nameof(FirstRetryDelay), "must be positive");
            Require(options.LongestRetryDelay >= options.FirstRetryDelay, nameof(LongestRetryDelay), $"must be at least {SectionName}:{nameof(FirstRetryDelay)}");
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
