using Allocation.Api.Operations;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// The opt-in inline I/O scheduling (README, Configuration, "Performance settings"): Kestrel's setting and the
/// runtime's environment variable, which only takes effect at process start (so only for
/// <see cref="Support.ApiProcess"/> instances, not the in-process test host).
/// </summary>
internal static class InlineIo
{
    public static IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["Transport:PreferInlineScheduling"] = "true",
        [TransportSetup.InlineCompletionsVariable] = "1",
    };
}
