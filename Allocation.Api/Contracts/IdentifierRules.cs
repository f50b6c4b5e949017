using Allocation.Application;
using FluentValidation;

namespace Allocation.Api.Contracts;

internal static class IdentifierRules
{
    /// <summary>A batch reference, order id or SKU, as <see cref="Identifiers"/> defines it.</summary>
    public static IRuleBuilderOptions<T, string?> ValidIdentifier<T>(this IRuleBuilderInitial<T, string?> rule) =>
        rule.Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("'{PropertyName}' is required.")
            .NotEmpty().WithMessage("'{PropertyName}' must not be blank.")
            .Must(value => Identifiers.IsPrintable(value!))
            .WithMessage("'{PropertyName}' must be printable text: no control characters or broken Unicode.")
            .Must(value => Identifiers.Length(value!) <= Limits.MaxIdentifierLength)
            .WithMessage($"'{{PropertyName}}' must be at most {Limits.MaxIdentifierLength} characters.")
            .Must(value => Identifiers.IsAddressable(value!))
            .WithMessage("'{PropertyName}' must not contain '/' or be '.' or '..': it has to fit in one URL path segment.");

    public static IRuleBuilderOptions<T, int?> ValidQuantity<T>(this IRuleBuilderInitial<T, int?> rule) =>
        rule.Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("'{PropertyName}' is required.")
            .InclusiveBetween(1, Limits.MaxQuantity);

    /// <summary>An arrival date inside <see cref="Limits.EarliestEta"/>..<see cref="Limits.LatestEta"/>, when there is one.</summary>
    public static IRuleBuilderOptions<T, DateOnly?> ValidEta<T>(this IRuleBuilderInitial<T, DateOnly?> rule) =>
        rule.Must(eta => eta is null || (eta >= Limits.EarliestEta && eta <= Limits.LatestEta))
            .WithMessage($"'{{PropertyName}}' must be a date from {Limits.EarliestEta:yyyy-MM-dd} to {Limits.LatestEta:yyyy-MM-dd}, or null.");
}
