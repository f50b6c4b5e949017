using System.Text.Json.Serialization;
using FluentValidation;

namespace Allocation.Api.Contracts;

/// <summary>A batch of stock to add: warehouse stock (no ETA) or a shipment on its way.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class AddBatchRequest
{
    /// <summary>Unique batch reference.</summary>
    /// <example>batch-2026-11-001</example>
    [JsonPropertyName("ref")]
    public string? Reference { get; init; }

    /// <summary>The SKU the batch holds.</summary>
    /// <example>SMALL-TABLE</example>
    [JsonPropertyName("sku")]
    public string? Sku { get; init; }

    /// <summary>Purchased quantity, from 1 to 1,000,000.</summary>
    /// <example>100</example>
    [JsonPropertyName("qty")]
    public int? Quantity { get; init; }

    /// <summary>Expected arrival, YYYY-MM-DD from 2000-01-01 to 2199-12-31; null for stock already in the warehouse.</summary>
    /// <example>2026-12-01</example>
    [JsonPropertyName("eta")]
    public DateOnly? Eta { get; init; }
}

internal sealed class AddBatchRequestValidator : AbstractValidator<AddBatchRequest>
{
    public AddBatchRequestValidator()
    {
        RuleFor(r => r.Reference).ValidIdentifier().OverridePropertyName("ref");
        RuleFor(r => r.Sku).ValidIdentifier().OverridePropertyName("sku");
        RuleFor(r => r.Quantity).ValidQuantity().OverridePropertyName("qty");
        RuleFor(r => r.Eta).ValidEta().OverridePropertyName("eta");
    }
}
