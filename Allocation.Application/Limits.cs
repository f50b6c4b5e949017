namespace Allocation.Application;

/// <summary>The input limits every entry point enforces; documented in the README and in OpenAPI.</summary>
public static class Limits
{
    /// <summary>Longest batch reference, order id or SKU, in characters (see <see cref="Identifiers.Length"/>).</summary>
    public const int MaxIdentifierLength = 255;

    /// <summary>Largest quantity of one batch or one order line.</summary>
    public const int MaxQuantity = 1_000_000;

    /// <summary>
    /// The range of arrival dates taken: wide enough for late paperwork and long lead times, narrow
    /// enough to catch a mistyped year, and never DateOnly's extremes, which PostgreSQL would store
    /// as -infinity and infinity.
    /// </summary>
    public static readonly DateOnly EarliestEta = new(2000, 1, 1);

    /// <inheritdoc cref="EarliestEta"/>
    public static readonly DateOnly LatestEta = new(2199, 12, 31);
}
