using System.Text.Json;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd.Observability;

/// <summary>
/// Started from a folder other than its own (<c>dotnet /app/Allocation.Api.dll</c> from elsewhere), the
/// service still reads its own appsettings*.json: in Production every log line is JSON.
/// </summary>
[NonParallelizable]
public class ContentRootTests
{
    [Test]
    public async Task Started_from_another_folder_it_reads_its_own_settings_and_logs_json_in_production()
    {
        var elsewhere = Directory.CreateTempSubdirectory("allocation-elsewhere-");
        try
        {
            var database = await TestDatabase.SharedAsync();
            await using var api = await ApiProcess.StartAsync(
                database.ConnectionString, workingDirectory: elsewhere.FullName, productionLogFormat: true);
            await WaitUntilAsync(() => api.StandardOutputLines.Any(line => line.Contains("Application started", StringComparison.Ordinal)));

            var lines = api.StandardOutputLines.Where(line => line.Length > 0).ToList();
            lines.Should().Contain(line => line.Contains("Content root path", StringComparison.Ordinal));
            foreach (var line in lines)
            {
                var parse = () => JsonDocument.Parse(line).Dispose();
                parse.Should().NotThrow($"every line of a Production log is JSON: {line}");
            }

            var contentRoot = lines.Select(line => JsonDocument.Parse(line).RootElement)
                .Single(entry => entry.GetProperty("Message").GetString()!.StartsWith("Content root path", StringComparison.Ordinal));
            contentRoot.GetProperty("State").EnumerateObject()
                .Single(p => p.Name.Equals("ContentRoot", StringComparison.OrdinalIgnoreCase)).Value.GetString()!.TrimEnd('/')
                .Should().NotBe(elsewhere.FullName.TrimEnd('/'), "the service's folder, not the working directory");
        }
        finally
        {
            elsewhere.Delete(recursive: true);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!done() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
    }
}
