namespace Allocation.Infrastructure;

/// <summary>
/// Which unexpected failures of a retry loop are logged with their stack trace: the first of a run of
/// failures, and the first of another type within it. The same failure met again on every retry is
/// one line each time, so that a bug that persists does not fill the log with the same trace.
/// </summary>
internal sealed class FailureStreak
{
    private Type? _traced;

    /// <summary>True when this failure's trace has not been logged yet in the current run.</summary>
    public bool IsNew(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error.GetType() == _traced)
        {
            return false;
        }

        _traced = error.GetType();
        return true;
    }

    /// <summary>A success ended the run: the next failure is logged in full again.</summary>
    public void Ended() => _traced = null;
}
