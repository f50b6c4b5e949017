using System.Text.Json.Serialization;
using Allocation.Application.Orders;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;

namespace Allocation.Api.Contracts;

/// <summary>The order named in the path of a write: it must be storable as it is, so the identifier rules apply.</summary>
public sealed class OrderPath
{
    /// <summary>The order id.</summary>
    /// <example>order-1042</example>
    [FromRoute(Name = "orderid")]
    public string? OrderId { get; init; }
}

internal sealed class OrderPathValidator : AbstractValidator<OrderPath>
{
    public OrderPathValidator() => RuleFor(p => p.OrderId).ValidIdentifier().OverridePropertyName("orderid");
}

/// <summary>The lines of an order, to allocate all of them or none.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class AllocateOrderRequest
{
    /// <summary>1 to 100 lines, each SKU at most once, in any order.</summary>
    [JsonPropertyName("lines")]
    public IReadOnlyList<OrderLineRequest?>? Lines { get; init; }
}

/// <summary>One line of an order.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class OrderLineRequest
{
    /// <summary>The SKU ordered.</summary>
    /// <example>SMALL-TABLE</example>
    [JsonPropertyName("sku")]
    public string? Sku { get; init; }

    /// <summary>Quantity ordered, from 1 to 1,000,000.</summary>
    /// <example>3</example>
    [JsonPropertyName("qty")]
    public int? Quantity { get; init; }
}

internal sealed class AllocateOrderRequestValidator : AbstractValidator<AllocateOrderRequest>
{
    public AllocateOrderRequestValidator()
    {
        RuleFor(r => r.Lines).Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("'lines' is required.")
            .Must(lines => lines!.Count is >= 1 and <= OrderRules.MaxLines)
            .WithMessage($"'lines' must have 1 to {OrderRules.MaxLines} lines.")
            .Must(lines => lines!.All(l => l is not null)).WithMessage("'lines' must hold objects, not null.")
            .OverridePropertyName("lines");
        RuleForEach(r => r.Lines).SetValidator(new OrderLineRequestValidator()!).OverridePropertyName("lines")
            .When(r => r.Lines is { Count: <= OrderRules.MaxLines } lines && lines.All(l => l is not null));
        RuleFor(r => r.Lines)
            .Must(lines => lines!.Select(l => l!.Sku).Distinct(StringComparer.Ordinal).Count() == lines!.Count)
            .WithMessage(r => "'lines' must name each SKU at most once; repeated: " + string.Join(", ", Repeated(r.Lines!)) + ".")
            .OverridePropertyName("lines")
            .When(r => r.Lines is { Count: >= 1 and <= OrderRules.MaxLines } lines && lines.All(l => l is { Sku: not null }));
    }

    private static IEnumerable<string> Repeated(IReadOnlyList<OrderLineRequest?> lines) =>
        lines.GroupBy(l => l!.Sku!, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key);
}

internal sealed class OrderLineRequestValidator : AbstractValidator<OrderLineRequest>
{
    public OrderLineRequestValidator()
    {
        RuleFor(r => r.Sku).ValidIdentifier().OverridePropertyName("sku");
        RuleFor(r => r.Quantity).ValidQuantity().OverridePropertyName("qty");
    }
}

/// <summary>An order whose every line is allocated.</summary>
/// <param name="OrderId">The order.</param>
/// <param name="Lines">Every line with its batch, in SKU order (ordinal).</param>
public sealed record WholeOrderResponse(
    [property: JsonPropertyName("orderid")] string OrderId,
    [property: JsonPropertyName("lines")] IReadOnlyList<AllocatedLineResponse> Lines)
{
    internal static WholeOrderResponse From(string orderId, IEnumerable<OrderLineAllocation> lines) =>
        new(orderId, [.. lines.Select(l => new AllocatedLineResponse(l.Sku, l.Quantity, l.BatchReference))]);
}

/// <summary>A line of an order and the batch that holds it (or held it, when given back).</summary>
/// <param name="Sku">The SKU.</param>
/// <param name="Quantity">The line's quantity.</param>
/// <param name="BatchReference">The batch.</param>
public sealed record AllocatedLineResponse(
    [property: JsonPropertyName("sku")] string Sku,
    [property: JsonPropertyName("qty")] int Quantity,
    [property: JsonPropertyName("batchref")] string BatchReference);
