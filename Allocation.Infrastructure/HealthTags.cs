namespace Allocation.Infrastructure;

/// <summary>Tags on the health checks, which the host's health endpoints select by.</summary>
public static class HealthTags
{
    /// <summary>Checks that say whether the instance can serve requests (/health/ready). /health/live runs none.</summary>
    public const string Ready = "ready";
}
