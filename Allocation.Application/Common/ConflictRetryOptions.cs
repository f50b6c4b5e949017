namespace Allocation.Application.Common;

/// <summary>How hard a use case tries to get past concurrent writers of the same product.</summary>
public sealed class ConflictRetryOptions
{
    public const string SectionName = "ConflictRetry";

    /// <summary>Attempts in all, the first one included.</summary>
    public int MaxAttempts { get; set; } = 10;

    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(100);
}
