namespace Allocation.Infrastructure;

public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary>Apply pending migrations at start-up.</summary>
    public bool MigrateOnStartup { get; set; } = true;

    /// <summary>How long start-up waits for the database before giving up.</summary>
    public TimeSpan StartupWaitLimit { get; set; } = TimeSpan.FromMinutes(5);
}
