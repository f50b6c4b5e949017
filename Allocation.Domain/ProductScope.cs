namespace Allocation.Domain;

/// <summary>
/// Which order lines a product was loaded with. A product is loaded with its batches' running totals
/// and only the lines a use case is about, so it must not decide about the lines it cannot see: it
/// would take a missing line for one that does not exist.
/// </summary>
public sealed record ProductScope
{
    private ProductScope(string? orderId, string? batchReference, bool complete)
    {
        OrderId = orderId;
        BatchReference = batchReference;
        Complete = complete;
    }

    /// <summary>Every line is known: a product built in memory, or a new one that has none yet.</summary>
    public static ProductScope Everything { get; } = new(null, null, complete: true);

    /// <summary>The batches and their totals, no lines: enough to add a batch.</summary>
    public static ProductScope TotalsOnly { get; } = new(null, null, complete: false);

    /// <summary>The order whose lines (of this SKU) were loaded, if any.</summary>
    public string? OrderId { get; }

    /// <summary>The batch whose lines were all loaded, if any.</summary>
    public string? BatchReference { get; }

    public bool Complete { get; }

    /// <summary>Loaded with the order's line of this SKU, whichever batch holds it.</summary>
    public static ProductScope ForOrder(string orderId) => new(orderId, null, complete: false);

    /// <summary>Loaded with every line the batch holds, oldest allocation first.</summary>
    public static ProductScope ForBatch(string batchReference) => new(null, batchReference, complete: false);

    public bool CoversOrder(string orderId) => Complete || OrderId == orderId;

    public bool CoversBatch(string batchReference) => Complete || BatchReference == batchReference;

    public override string ToString() =>
        Complete ? "every line" : OrderId is not null ? $"the lines of order {OrderId}" :
        BatchReference is not null ? $"the lines of batch {BatchReference}" : "no lines";
}
