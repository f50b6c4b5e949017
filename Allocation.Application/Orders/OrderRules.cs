namespace Allocation.Application.Orders;

/// <summary>What an order to allocate may be: the rules every entry point enforces, documented in the README and OpenAPI.</summary>
public static class OrderRules
{
    /// <summary>Most lines in one order: enough for any real basket, few enough for one transaction and one request's deadline.</summary>
    public const int MaxLines = 100;

    /// <returns>Why the order is not acceptable, or null when it is.</returns>
    public static string? Problem(string? orderId, IReadOnlyCollection<RequestedLine>? lines)
    {
        if (!Identifiers.IsValid(orderId))
        {
            return "The order id is not a valid identifier.";
        }

        if (lines is null || lines.Count is 0 or > MaxLines)
        {
            return $"An order has 1 to {MaxLines} lines.";
        }

        if (lines.FirstOrDefault(l => l is null || !Identifiers.IsValid(l.Sku)) is not null)
        {
            return "Every line has a valid SKU.";
        }

        if (lines.FirstOrDefault(l => l.Quantity is < 1 or > Limits.MaxQuantity) is { } line)
        {
            return $"The quantity of sku {line.Sku} is not from 1 to {Limits.MaxQuantity}.";
        }

        return lines.GroupBy(l => l.Sku, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } repeated
            ? $"Sku {repeated.Key} appears in more than one line."
            : null;
    }
}
