using System.Text;
using Allocation.Application;
using FluentValidation;

namespace Allocation.Api.Contracts;

internal static class IdentifierRules
{
    /// <summary>
    /// A batch reference, order id or SKU: present, not blank, at most
    /// <see cref="Limits.MaxIdentifierLength"/> characters of printable text.
    /// </summary>
    public static IRuleBuilderOptions<T, string?> ValidIdentifier<T>(this IRuleBuilderInitial<T, string?> rule) =>
        rule.Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("'{PropertyName}' is required.")
            .NotEmpty().WithMessage("'{PropertyName}' must not be blank.")
            .MaximumLength(Limits.MaxIdentifierLength)
            .Must(BePrintableText).WithMessage("'{PropertyName}' must be printable text: no control characters or broken Unicode.");

    public static IRuleBuilderOptions<T, int?> ValidQuantity<T>(this IRuleBuilderInitial<T, int?> rule) =>
        rule.Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("'{PropertyName}' is required.")
            .InclusiveBetween(1, Limits.MaxQuantity);

    // PostgreSQL cannot store NUL, and lone surrogates cannot be encoded as UTF-8: refuse them here
    // rather than let them fail deep in the database driver.
    private static bool BePrintableText(string? value)
    {
        if (value is null)
        {
            return true;
        }

        var index = 0;
        while (index < value.Length)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(index), out var rune, out var consumed) != System.Buffers.OperationStatus.Done
                || Rune.IsControl(rune))
            {
                return false;
            }

            index += consumed;
        }

        return true;
    }
}
