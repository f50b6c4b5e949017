using System.Text.Json;

namespace Allocation.Tests.Support;

/// <summary>
/// How a refusal to start must look from outside, as an orchestrator and a log pipeline see it: the
/// process exits with code 1, its log (standard output, in the Production JSON format) holds only
/// JSON lines, exactly one of them an error, naming the problem, and no stack trace anywhere.
/// </summary>
public static class StartRefusal
{
    /// <summary>The Production log format, whatever ApiProcess defaults to.</summary>
    public static readonly IReadOnlyDictionary<string, string> JsonLog = new Dictionary<string, string>
    {
        ["Logging:Console:FormatterName"] = "json",
        ["Logging:Console:FormatterOptions:SingleLine"] = "true",
    };

    /// <summary>Starts the API with the settings, and returns the one error line's message after checking all of the above.</summary>
    public static async Task<string> AssertRefusedAsync(
        string connectionString, IReadOnlyDictionary<string, string> settings, bool bearer, string expected)
    {
        var all = new Dictionary<string, string>(JsonLog);
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        await using var api = await ApiProcess.StartAsync(connectionString, all, waitUntilHealthy: false, bearer: bearer);
        (await api.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().BeTrue("the service refuses to start:\n" + api.Output);
        // The output is read asynchronously: let the last lines arrive.
        await Task.Delay(200);
        api.ExitCode.Should().Be(1, api.Output);
        api.Output.Should().NotContain("   at ", "a refusal is a reason, not a stack trace").And.NotContain("Unhandled exception");

        var entries = api.StandardOutputLines.Select(line =>
        {
            var parse = () => JsonDocument.Parse(line);
            parse.Should().NotThrow($"every line of the Production log is JSON:\n{line}");
            return parse().RootElement;
        }).ToList();
        var errors = entries.Where(e => e.GetProperty("LogLevel").GetString() is "Error" or "Critical").ToList();
        errors.Should().ContainSingle("one line says why, once:\n" + api.Output);
        var message = errors[0].GetProperty("Message").GetString()!;
        message.Should().Contain(expected);
        return message;
    }
}
