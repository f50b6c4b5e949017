using System.Text.Json.Serialization;
using FluentValidation;

namespace Allocation.Api.Contracts;

/// <summary>The order line to give back.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class DeallocateRequest
{
    /// <summary>The order the line belongs to.</summary>
    /// <example>order-1042</example>
    [JsonPropertyName("orderid")]
    public string? OrderId { get; init; }

    /// <summary>The SKU to give back.</summary>
    /// <example>SMALL-TABLE</example>
    [JsonPropertyName("sku")]
    public string? Sku { get; init; }
}

internal sealed class DeallocateRequestValidator : AbstractValidator<DeallocateRequest>
{
    public DeallocateRequestValidator()
    {
        RuleFor(r => r.OrderId).ValidIdentifier().OverridePropertyName("orderid");
        RuleFor(r => r.Sku).ValidIdentifier().OverridePropertyName("sku");
    }
}
