namespace Allocation.Application.Common;

/// <summary>How hard a use case tries to get past concurrent writers of the same product.</summary>
public sealed class ConflictRetryOptions
{
    public const string SectionName = "ConflictRetry";

    /// <summary>Attempts in all, the first one included.</summary>
    public int MaxAttempts { get; set; } = 40;

    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The longest a write may spend queueing behind other writes of its SKU and retrying before it
    /// gives up with a conflict. Kept well inside the request deadline so that contention is
    /// answered as a retryable 409, never as a timeout.
    /// </summary>
    public TimeSpan Budget { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Writes of one SKU this instance lets run at once; the rest wait in memory. One is right for
    /// an aggregate with a version check: a second concurrent writer could only lose the race.
    /// </summary>
    public int WritersPerSku { get; set; } = 1;

    /// <summary>
    /// When writes queued for a SKU give up and no write of any SKU has had an answer from the database
    /// for this long, the database is stuck rather than busy (a healthy write takes milliseconds): they
    /// answer 503 (unavailable) instead of 409 (contention).
    /// </summary>
    public TimeSpan StuckWriteAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a request waits for a writable primary (a switchover, a failover, a restart) before it
    /// answers 503: it tries again with a short back-off (<see cref="FailoverFirstDelay"/> doubling up to
    /// <see cref="FailoverMaxDelay"/>) while nothing was stored. A planned switchover of pg_auto_failover
    /// takes 3–5 s; the request deadline must leave room for one last attempt after this.
    /// </summary>
    public TimeSpan FailoverWait { get; set; } = TimeSpan.FromSeconds(7);

    public TimeSpan FailoverFirstDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Short, so that a request sees a new primary within this long of it taking writes.</summary>
    public TimeSpan FailoverMaxDelay { get; set; } = TimeSpan.FromMilliseconds(500);
}
