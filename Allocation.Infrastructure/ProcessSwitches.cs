namespace Allocation.Infrastructure;

/// <summary>
/// Settings that hold for the whole process, not for one service collection: called once by the
/// host's entry point (Program.cs), before anything opens a connection.
/// </summary>
public static class ProcessSwitches
{
    /// <summary>
    /// DateOnly.MinValue and MaxValue stored as those dates, not as -infinity and infinity. Npgsql reads
    /// the switch once, when it first converts a date.
    /// </summary>
    public static void StoreDateExtremesAsDates() =>
        AppContext.SetSwitch("Npgsql.DisableDateTimeInfinityConversions", true);

    /// <summary>
    /// On a hung server a statement past its command timeout makes Npgsql send PostgreSQL a cancel
    /// request and block the thread it runs on until the server closes it: at most one thread per
    /// pooled connection (the deadline's cancels have threads of their own, see DriverCancellation).
    /// With those ready in advance, the thread pool is not left to add threads one by one while the
    /// requests that could be answered wait for one.
    /// </summary>
    /// <param name="connectionString">ConnectionStrings:Allocation, whose pool size (as <see cref="ConnectionDefaults"/> sets it) is reserved for.</param>
    public static void ReserveThreadsForBlockingCancels(string connectionString)
    {
        var poolSize = ConnectionDefaults.Apply(connectionString, Environment.ProcessorCount).MaxPoolSize;
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, poolSize + (2 * Environment.ProcessorCount)), completionPorts);
    }
}
