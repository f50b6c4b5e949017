using System.Text.Json.Serialization;
using FluentValidation;

namespace Allocation.Api.Contracts;

/// <summary>An order line to allocate to a batch.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class AllocateRequest
{
    /// <summary>The order the line belongs to.</summary>
    /// <example>order-1042</example>
    [JsonPropertyName("orderid")]
    public string? OrderId { get; init; }

    /// <summary>The SKU ordered.</summary>
    /// <example>SMALL-TABLE</example>
    [JsonPropertyName("sku")]
    public string? Sku { get; init; }

    /// <summary>Quantity ordered, from 1 to 1,000,000.</summary>
    /// <example>3</example>
    [JsonPropertyName("qty")]
    public int? Quantity { get; init; }
}

internal sealed class AllocateRequestValidator : AbstractValidator<AllocateRequest>
{
    public AllocateRequestValidator()
    {
        RuleFor(r => r.OrderId).ValidIdentifier().OverridePropertyName("orderid");
        RuleFor(r => r.Sku).ValidIdentifier().OverridePropertyName("sku");
        RuleFor(r => r.Quantity).ValidQuantity().OverridePropertyName("qty");
    }
}
