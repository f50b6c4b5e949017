namespace Allocation.Infrastructure.Persistence;

/// <summary>
/// One statement a commit sends, exactly as it is sent: its text, its parameters in order, and what
/// its answer means. Produced by <see cref="ProductChanges.Render"/>, executed by the unit of work.
/// </summary>
/// <param name="Text">The SQL; every value is a parameter.</param>
/// <param name="Parameters">Name (without '@') and value, in the order they are printed for review.</param>
/// <param name="ExpectedRows">
/// The number of rows the statement answers it changed, or null for a statement that answers nothing.
/// No answer at all means <paramref name="Conflict"/>; any other number is a bug (the product was not
/// stored as it was loaded), never contention.
/// </param>
/// <param name="Conflict">Why a statement that answers no row lost: another writer moved the version first.</param>
/// <param name="Refusals">A unique violation of one of these constraints, and the exception it means.</param>
internal sealed record SqlStatement(
    string Text,
    IReadOnlyList<KeyValuePair<string, object?>> Parameters,
    int? ExpectedRows,
    string Conflict,
    IReadOnlyDictionary<string, Func<Exception, Exception>> Refusals);
