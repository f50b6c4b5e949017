namespace Allocation.Application;

/// <summary>The input limits every entry point enforces; documented in the README and in OpenAPI.</summary>
public static class Limits
{
    /// <summary>Longest batch reference, order id or SKU, in characters.</summary>
    public const int MaxIdentifierLength = 255;

    /// <summary>Largest quantity of one batch or one order line.</summary>
    public const int MaxQuantity = 1_000_000;
}
