using System.Text.Json.Serialization;
using Allocation.Application;
using Allocation.Domain;
using FluentValidation;

namespace Allocation.Api.Contracts;

/// <summary>
/// A change to a batch: its purchased quantity, its ETA, or both. A field left out keeps its value;
/// <c>"eta": null</c> says the batch is in the warehouse now.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed class ChangeBatchRequest
{
    private readonly int? _quantity;
    private readonly DateOnly? _eta;

    /// <summary>The purchased quantity now, from 0 (the shipment was cancelled) to 1,000,000.</summary>
    /// <example>40</example>
    [JsonPropertyName("qty")]
    public int? Quantity
    {
        get => _quantity;
        init
        {
            // The serializer calls this only when the field is in the body, null or not.
            _quantity = value;
            QuantityGiven = true;
        }
    }

    /// <summary>Expected arrival now, YYYY-MM-DD from 2000-01-01 to 2199-12-31; null when the batch is in the warehouse.</summary>
    /// <example>2026-12-15</example>
    [JsonPropertyName("eta")]
    public DateOnly? Eta
    {
        get => _eta;
        init
        {
            _eta = value;
            EtaGiven = true;
        }
    }

    [JsonIgnore]
    internal bool QuantityGiven { get; private init; }

    [JsonIgnore]
    internal bool EtaGiven { get; private init; }

    internal EtaChange EtaChange => EtaGiven ? EtaChange.To(Eta) : EtaChange.Keep;
}

internal sealed class ChangeBatchRequestValidator : AbstractValidator<ChangeBatchRequest>
{
    public ChangeBatchRequestValidator()
    {
        RuleFor(r => r)
            .Must(r => r.QuantityGiven || r.EtaGiven)
            .WithMessage("Give 'qty', 'eta' or both.")
            .OverridePropertyName("$");
        When(r => r.QuantityGiven, () => RuleFor(r => r.Quantity)
            .Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("'{PropertyName}' must be a number; leave it out to keep the quantity.")
            .InclusiveBetween(0, Limits.MaxQuantity)
            .OverridePropertyName("qty"));
        When(r => r.EtaGiven, () => RuleFor(r => r.Eta).ValidEta().OverridePropertyName("eta"));
    }
}
