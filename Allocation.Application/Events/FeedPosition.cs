using System.Globalization;

namespace Allocation.Application.Events;

/// <summary>
/// A place in the event feed: the committing transaction's id and the event's number within the
/// outbox. Callers treat its text form as opaque and hand it back as <c>after</c>.
/// </summary>
public readonly record struct FeedPosition(long TransactionId, long EventNumber)
{
    public static bool TryParse(string? text, out FeedPosition position)
    {
        position = default;
        var parts = text?.Split('-');
        if (parts is not [var transaction, var number]
            || !long.TryParse(transaction, NumberStyles.None, CultureInfo.InvariantCulture, out var transactionId)
            || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var eventNumber))
        {
            return false;
        }

        position = new FeedPosition(transactionId, eventNumber);
        return true;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{TransactionId}-{EventNumber}");
}
