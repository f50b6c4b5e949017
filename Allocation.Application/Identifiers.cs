using System.Buffers;
using System.Text;

namespace Allocation.Application;

/// <summary>
/// What a batch reference, order id or SKU may be. Every entry point enforces it, so whatever is
/// accepted can be stored as it is and read back at its URL.
/// </summary>
public static class Identifiers
{
    /// <summary>
    /// Length in characters (Unicode scalar values) as PostgreSQL's <c>varchar(255)</c> counts them:
    /// an emoji is one character here, though two UTF-16 units in .NET. Null when the text is not
    /// well-formed Unicode.
    /// </summary>
    public static int? Length(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var (index, length) = (0, 0);
        while (index < value.Length)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(index), out _, out var consumed) != OperationStatus.Done)
            {
                return null;
            }

            index += consumed;
            length++;
        }

        return length;
    }

    /// <summary>
    /// Printable text: no control characters (PostgreSQL cannot store NUL at all), and no lone
    /// surrogates, which cannot be encoded as UTF-8.
    /// </summary>
    public static bool IsPrintable(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var index = 0;
        while (index < value.Length)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(index), out var rune, out var consumed) != OperationStatus.Done || Rune.IsControl(rune))
            {
                return false;
            }

            index += consumed;
        }

        return true;
    }

    /// <summary>
    /// Usable as one URL path segment: a '/' would split it (servers do not decode %2F), and "." or
    /// ".." are removed from paths by clients and servers alike. Everything else is percent-encoded.
    /// </summary>
    public static bool IsAddressable(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return !value.Contains('/', StringComparison.Ordinal) && value is not "." and not "..";
    }

    public static bool IsValid(string? value) =>
        !string.IsNullOrWhiteSpace(value)
        && Length(value) <= Limits.MaxIdentifierLength
        && IsPrintable(value)
        && IsAddressable(value);
}
