using Microsoft.Extensions.Options;

namespace Allocation.Infrastructure.Messaging;

/// <summary>The outbox's delivery and retention settings (configuration section <c>Events</c>).</summary>
public sealed class EventsOptions
{
    public const string SectionName = "Events";

    /// <summary>Events older than this are deleted: once published when a broker is configured, by age alone when the feed is the only reader.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Events one relay claims and publishes at a time.</summary>
    public int RelayBatchSize { get; set; } = 100;

    /// <summary>
    /// How long a claim keeps other instances off a batch. A relay that dies holding one delays those
    /// events by this much, after which another instance publishes them again (at least once); a
    /// relay still publishing when it ends would publish them twice, so publishing a batch gives up
    /// at half of it.
    /// </summary>
    public TimeSpan RelayLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Pause after a relay found nothing to publish: the longest a new event waits for the broker when all is well.</summary>
    public TimeSpan RelayIdleDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The relay's health is Degraded when the oldest unpublished event has waited longer than this.</summary>
    public TimeSpan RelayDegradedAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the outbox backlog behind the allocation.outbox.* gauges is read from the database.</summary>
    public TimeSpan BacklogSampleInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often an instance deletes expired events.</summary>
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Events deleted per statement, so pruning never holds many row locks or a long transaction.</summary>
    public int PruneBatchSize { get; set; } = 1000;

    /// <summary>Every setting out of range, each named by its key, refuses the start (ValidateOnStart).</summary>
    internal sealed class Validator : IValidateOptions<EventsOptions>
    {
        public ValidateOptionsResult Validate(string? name, EventsOptions options)
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

            Require(options.Retention > TimeSpan.Zero, nameof(Retention), "must be positive");
            Require(options.RelayBatchSize is > 0 and <= 10_000, nameof(RelayBatchSize), "must be between 1 and 10000");
            Require(options.RelayLease >= TimeSpan.FromSeconds(2), nameof(RelayLease), "must be at least 2 s");
            Require(options.RelayIdleDelay > TimeSpan.Zero, nameof(RelayIdleDelay), "must be positive");
            Require(options.RelayDegradedAfter > TimeSpan.Zero, nameof(RelayDegradedAfter), "must be positive");
            Require(options.BacklogSampleInterval > TimeSpan.Zero, nameof(BacklogSampleInterval), "must be positive");
            Require(options.PruneInterval > TimeSpan.Zero, nameof(PruneInterval), "must be positive");
            Require(options.PruneBatchSize is > 0 and <= 100_000, nameof(PruneBatchSize), "must be between 1 and 100000");
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
