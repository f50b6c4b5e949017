using System.Diagnostics.Metrics;

namespace Allocation.Application.Common;

/// <summary>How an allocate request ended, as counted by <see cref="AllocationMetrics"/>.</summary>
public enum AllocationOutcome
{
    /// <summary>The line was allocated now.</summary>
    Allocated,

    /// <summary>The same line was already allocated: the idempotent repeat answered its batch again.</summary>
    Repeated,

    /// <summary>No batch had room (400).</summary>
    OutOfStock,

    /// <summary>The SKU has no batches (400).</summary>
    InvalidSku,

    /// <summary>The order already holds the SKU with another quantity (409).</summary>
    ConflictingOrderLine,

    /// <summary>The SKU stayed contended for the whole retry budget (409 with Retry-After).</summary>
    ConflictGaveUp,
}

/// <summary>How a whole-order allocate ended (<c>POST /orders/{orderid}/allocation</c> or the <c>allocation.order.allocate</c> command).</summary>
public enum OrderOutcome
{
    /// <summary>Every line was allocated now.</summary>
    Allocated,

    /// <summary>The order already held every line: the idempotent repeat answered the same batches and changed nothing.</summary>
    Repeated,

    /// <summary>The Idempotency-Key (or the command id) came before: the stored answer was given again, nothing was decided.</summary>
    Replayed,

    /// <summary>Some SKUs had no room: nothing was allocated, the rejection was recorded.</summary>
    OutOfStock,

    /// <summary>Some SKUs have no batches: nothing changed.</summary>
    InvalidSku,

    /// <summary>The order already holds other lines (409): nothing changed.</summary>
    ConflictingOrder,

    /// <summary>A SKU of the order stayed contended for the whole retry budget (409 with Retry-After).</summary>
    ConflictGaveUp,
}

/// <summary>
/// The use cases' own metrics, on the meter "Allocation" (System.Diagnostics.Metrics only: whoever
/// hosts the application decides whether and where they are exported). Recording without a listener
/// costs a few nanoseconds and allocates nothing.
/// </summary>
public sealed class AllocationMetrics
{
    public const string MeterName = "Allocation";

    // Label values are fixed strings, indexed by outcome, so that recording never builds one.
    private static readonly string[] OutcomeNames =
        ["allocated", "repeated", "out_of_stock", "invalid_sku", "conflicting_order_line", "conflict_gave_up"];

    private static readonly string[] OrderOutcomeNames =
        ["allocated", "repeated", "replayed", "out_of_stock", "invalid_sku", "conflicting_order", "conflict_gave_up"];

    private readonly Counter<long> _allocations;
    private readonly Counter<long> _orders;
    private readonly Counter<long> _conflictRetries;

    /// <param name="meterFactory">The host's meter factory; without one (tests, tools) a meter of its own.</param>
    public AllocationMetrics(IMeterFactory? meterFactory = null)
    {
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _allocations = meter.CreateCounter<long>(
            "allocation.allocations", unit: "{allocation}", description: "Allocate requests by how they ended (label outcome).");
        _orders = meter.CreateCounter<long>(
            "allocation.orders", unit: "{order}",
            description: "Whole-order allocates (POST /orders/{orderid}/allocation, the allocation.order.allocate command) by how they ended (label outcome).");
        _conflictRetries = meter.CreateCounter<long>(
            "allocation.conflict_retries", unit: "{retry}", description: "Writes run again after losing the version check to a concurrent writer of the same SKU.");
    }

    public void Allocation(AllocationOutcome outcome) =>
        _allocations.Add(1, new KeyValuePair<string, object?>("outcome", OutcomeNames[(int)outcome]));

    public void Order(OrderOutcome outcome) =>
        _orders.Add(1, new KeyValuePair<string, object?>("outcome", OrderOutcomeNames[(int)outcome]));

    public void ConflictRetried() => _conflictRetries.Add(1);
}
