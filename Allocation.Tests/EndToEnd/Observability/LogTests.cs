using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd.Observability;

/// <summary>
/// The production log format (JSON lines with scopes) and what never goes into it. The API runs with
/// every log category at Trace against a database, a broker and an OTLP collector that are not there,
/// with passwords in both connection strings, a key in the collector's headers and a bearer token
/// on every request: the worst case for a leak. Spans are made (OTLP is configured) and fail to
/// export in the background, which must not hold up any answer.
/// </summary>
[NonParallelizable]
public class LogTests
{
    private const string DatabasePassword = "db-pass-6f1c9e";
    private const string BrokerPassword = "mq-pass-29ab04";
    /// <summary>A valid token: the request gets past authentication to the database fault, carrying a real secret.</summary>
    private static readonly string Token = TestTokens.AllScopes;
    private const string CollectorKey = "otlp-key-5a8c31";

    private static readonly Dictionary<string, string> JsonAtTrace = new()
    {
        ["Logging:Console:FormatterName"] = "json",
        ["Logging:LogLevel:Default"] = "Trace",
        ["Logging:LogLevel:Microsoft"] = "Trace",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
    };

    private ApiProcess _api = null!;

    private static string NoDatabase(int port) =>
        $"Host=127.0.0.1;Port={port};Database=allocation;Username=allocation;Password={DatabasePassword}";

    [OneTimeSetUp]
    public async Task StartTheApiWithNothingToTalkTo()
    {
        var settings = new Dictionary<string, string>(JsonAtTrace)
        {
            ["Database:MigrateOnStartup"] = "false",
            ["ConnectionStrings:Broker"] = $"amqp://allocation:{BrokerPassword}@127.0.0.1:{FreePort.Next()}/",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["OTEL_EXPORTER_OTLP_HEADERS"] = $"api-key={CollectorKey}",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        };
        _api = await ApiProcess.StartAsync(NoDatabase(FreePort.Next()), settings, waitUntilHealthy: false);
        await WaitUntilAsync(async () =>
        {
            try
            {
                using var live = await _api.Client.GetAsync(new Uri("/health/live", UriKind.Relative));
                return live.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        });
    }

    [OneTimeTearDown]
    public async Task StopIt() => await _api.DisposeAsync();

    [Test]
    public async Task A_problem_traceId_finds_its_json_log_line()
    {
        using var response = await AllocateWithTokenAsync();
        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.ServiceUnavailable);
        var traceId = problem.GetProperty("traceId").GetString()!.Split('-')[1];

        await WaitUntilAsync(() => Task.FromResult(_api.CountOutputLines(traceId) > 0));
        var line = _api.Output.Split('\n').Single(l => l.Contains(traceId, StringComparison.Ordinal) && l.Contains("\"EventId\":5003", StringComparison.Ordinal));
        using var entry = JsonDocument.Parse(line[line.IndexOf('{', StringComparison.Ordinal)..]);
        entry.RootElement.GetProperty("LogLevel").GetString().Should().Be("Warning");
        entry.RootElement.GetProperty("Message").GetString().Should().StartWith("503 answering POST /allocate");
        var scopes = entry.RootElement.GetProperty("Scopes").EnumerateArray().ToList();
        scopes.Select(ScopeTraceId).Should().Contain(traceId);
        scopes.Where(scope => scope.ValueKind == JsonValueKind.Object).Select(scope => scope.TryGetProperty("SpanId", out var span) ? span.GetString() : null)
            .Should().ContainMatch("????????????????", "the span id is there too");
    }

    [Test]
    public async Task Ready_is_unhealthy_without_the_database_while_live_stays_healthy()
    {
        using var ready = await _api.Client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        ready.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await ready.Content.ReadAsStringAsync()).Should().Be("""{"status":"Unhealthy"}""");
        using var live = await _api.Client.GetAsync(new Uri("/health/live", UriKind.Relative));
        (await live.Content.ReadAsStringAsync()).Should().Be("""{"status":"Healthy"}""");
    }

    [Test]
    public async Task No_password_token_or_connection_string_is_ever_logged()
    {
        for (var i = 0; i < 3; i++)
        {
            using var response = await AllocateWithTokenAsync();
            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        // The relay has tried the broker and the database by now, and logged why it could not.
        await WaitUntilAsync(() => Task.FromResult(_api.CountOutputLines("Event relay") > 0));
        // And a start-up that fails on the database says so without the connection string.
        var failedStart = new Dictionary<string, string>(JsonAtTrace) { ["Database:StartupWaitLimit"] = "00:00:01" };
        await using var failing = await ApiProcess.StartAsync(NoDatabase(FreePort.Next()), failedStart, waitUntilHealthy: false);
        (await failing.WaitForExitAsync(TimeSpan.FromSeconds(30))).Should().BeTrue("start-up gives up on a database that is not there");

        foreach (var output in new[] { _api.Output, failing.Output })
        {
            output.Should().NotContain(DatabasePassword).And.NotContain(BrokerPassword).And.NotContain(Token).And.NotContain(CollectorKey)
                .And.NotContainEquivalentOf("Password=");
            // Nor any part of it (a payload or signature on its own is as good as the token), nor any bearer token at all.
            foreach (var part in Token.Split('.'))
            {
                output.Should().NotContain(part);
            }

            output.Should().NotContainEquivalentOf("Bearer eyJ");
        }

        failing.Output.Should().Contain("127.0.0.1", "the failure is logged, with where it tried to connect");
        _api.Output.Should().Contain("503 answering POST /allocate");
    }

    /// <summary>
    /// A token wherever a request can carry one, with every category at Trace: the Authorization header,
    /// <c>?access_token=</c> (which hosting's "Request starting" line would print whole), any other query
    /// parameter, a cookie, the path, and a request line so malformed that Kestrel logs it. The lines
    /// about these requests are there, with the token redacted; no part of the token is anywhere.
    /// </summary>
    [Test]
    public async Task A_token_in_any_part_of_a_request_is_never_logged()
    {
        // A token of its own, so that no other test's requests account for what is found.
        var token = TestTokens.Mint(Allocation.Api.Security.Scopes.All, expires: DateTime.UtcNow.AddHours(1).AddSeconds(Random.Shared.Next(1000)));
        var marker = $"redaction-{Guid.NewGuid():N}";

        async Task SendAsync(string target, Action<HttpRequestMessage>? shape = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, target);
            shape?.Invoke(request);
            using var response = await _api.Client.SendAsync(request);
        }

        await SendAsync($"/events?limit=1&m={marker}-header", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token));
        await SendAsync($"/events?access_token={token}&m={marker}-access");
        await SendAsync($"/events?m={marker}-other&cursor={token}");
        await SendAsync($"/events?m={marker}-cookie", r => r.Headers.Add("Cookie", $"access_token={token}; session={token}"));
        await SendAsync($"/batches/{token}?m={marker}-path");
        // A control character in the target: Kestrel logs the request line (its first 128 characters) as it refuses it.
        await SendRawAsync($"GET /events?m={marker}-raw&access_token={token}\u0001 HTTP/1.1\r\nHost: x\r\n\r\n");

        // Every request was logged (hosting at Trace), so the redaction, not the level, keeps the token out.
        await WaitUntilAsync(() => Task.FromResult(_api.CountOutputLines($"{marker}-path") > 0 && _api.CountOutputLines($"{marker}-raw") > 0));
        var output = _api.Output;
        output.Should().Contain("access_token=[redacted]", "hosting's Request starting line is there, without the token");
        foreach (var part in token.Split('.'))
        {
            output.Should().NotContain(part);
        }

        output.Should().NotContain(token[^12..], "nor the end of its signature");
    }

    /// <summary>A request Kestrel cannot parse, over a raw socket (HttpClient would refuse to send it).</summary>
    private async Task SendRawAsync(string request)
    {
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(_api.BaseAddress.Host, _api.BaseAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
                // Until Kestrel answers 400 and closes.
            }
        }
        catch (IOException)
        {
            // Closed with a reset: answered all the same.
        }
    }

    private static string? ScopeTraceId(JsonElement scope) =>
        scope.ValueKind == JsonValueKind.Object && scope.TryGetProperty("TraceId", out var id) ? id.GetString() : null;

    private Task<HttpResponseMessage> AllocateWithTokenAsync()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/allocate")
        {
            Content = JsonContent.Create(new { orderid = Unique.OrderId(), sku = Unique.Sku(), qty = 1 }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return _api.Client.SendAsync(request);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("Timed out waiting.");
            }

            await Task.Delay(100);
        }
    }
}
