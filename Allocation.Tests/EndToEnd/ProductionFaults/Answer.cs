using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Allocation.Api.Errors;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// One answer as the client saw it: status, problem type, Retry-After and how long it took. Status 0
/// means no answer at all (the connection failed or the client gave up after its 30 s).
/// </summary>
internal sealed record Answer(
    string Action, string Key, string Phase, DateTime Started, int Status, double Seconds, string? MediaType, string? ProblemType, string? RetryAfter,
    bool WellFormedProblem, string Body)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    public bool IsServerError => Status >= 500;

    /// <summary>No answer, or a 5xx: the write may or may not have been committed.</summary>
    public bool IsAmbiguous => Status == 0 || IsServerError;

    /// <summary>409 urn:allocation:problem:concurrency-conflict with Retry-After: 1.</summary>
    public bool IsConflict => IsProblem(409, ProblemTypes.ConcurrencyConflict) && RetryAfter == "1";

    /// <summary>503 urn:allocation:problem:service-unavailable with Retry-After: 5.</summary>
    public bool IsUnavailable => IsProblem(503, ProblemTypes.ServiceUnavailable) && RetryAfter == "5";

    /// <summary>504 urn:allocation:problem:timeout.</summary>
    public bool IsTimeout => IsProblem(504, ProblemTypes.Timeout);

    public bool IsOutOfStock => IsProblem(400, ProblemTypes.OutOfStock);

    /// <summary>Status and type match, and the body is a complete problem+json (type, title, status, detail, message).</summary>
    public bool IsProblem(int status, string type) =>
        Status == status && MediaType == "application/problem+json" && WellFormedProblem && ProblemType == type;

    /// <summary>"201", "409 concurrency-conflict", "no answer": the bucket an answer is counted in.</summary>
    public string Outcome => Status == 0
        ? "no answer"
        : ProblemType is { } type ? $"{Status} {type.Replace("urn:allocation:problem:", "", StringComparison.Ordinal)}" : $"{Status}";

    public override string ToString() =>
        $"{Action} {Key} [{Phase}, sent {Started:HH:mm:ss.fff}]: {Outcome} Retry-After={RetryAfter ?? "-"} after {Seconds:F2} s: {(Body.Length > 300 ? Body[..300] + "…" : Body)}";

    /// <summary>Counts per outcome and the slowest answer, for TestContext.Progress.</summary>
    public static string Summary(IEnumerable<Answer> answers)
    {
        var list = answers.ToList();
        if (list.Count == 0)
        {
            return "no answers";
        }

        var counts = list.GroupBy(a => a.Outcome).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Count()}");
        return $"{list.Count} answers: {string.Join(", ", counts)}; slowest {list.Max(a => a.Seconds):F2} s";
    }
}

/// <summary>Sends one request and records the <see cref="Answer"/>; never throws for a failed exchange.</summary>
internal static class Ask
{
    public static Task<Answer> PostAsync(HttpClient client, string path, object body, string key, string phase = "") =>
        SendAsync(client, new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) }, path, key, phase);

    public static Task<Answer> GetAsync(HttpClient client, string path, string phase = "") =>
        SendAsync(client, new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative)), "GET", path, phase);

    public static Task<Answer> AllocateAsync(HttpClient client, string orderId, string sku, int qty = 1, string phase = "") =>
        PostAsync(client, "/allocate", new { orderid = orderId, sku, qty }, orderId, phase);

    public static Task<Answer> AddBatchAsync(HttpClient client, string reference, string sku, int qty, string? eta = null, string phase = "") =>
        PostAsync(client, "/add_batch", new { @ref = reference, sku, qty, eta }, reference, phase);

    private static async Task<Answer> SendAsync(HttpClient client, HttpRequestMessage request, string action, string key, string phase)
    {
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        try
        {
            using (request)
            using (var response = await client.SendAsync(request))
            {
                var body = await response.Content.ReadAsStringAsync();
                clock.Stop();
                var mediaType = response.Content.Headers.ContentType?.MediaType;
                var (type, wellFormed) = mediaType == "application/problem+json" ? ReadProblem(body, (int)response.StatusCode) : (null, false);
                return new Answer(action, key, phase, started, (int)response.StatusCode, clock.Elapsed.TotalSeconds, mediaType, type,
                    response.Headers.RetryAfter?.ToString(), wellFormed, body);
            }
        }
        catch (Exception error) when (error is HttpRequestException or TaskCanceledException or IOException)
        {
            return new Answer(action, key, phase, started, 0, clock.Elapsed.TotalSeconds, null, null, null, false, error.GetType().Name + ": " + error.Message);
        }
    }

    private static (string? Type, bool WellFormed) ReadProblem(string body, int status)
    {
        try
        {
            var problem = JsonDocument.Parse(body).RootElement;
            var type = problem.TryGetProperty("type", out var t) ? t.GetString() : null;
            var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : null;
            var wellFormed = !string.IsNullOrWhiteSpace(type)
                && problem.TryGetProperty("title", out var title) && !string.IsNullOrWhiteSpace(title.GetString())
                && problem.TryGetProperty("status", out var s) && s.GetInt32() == status
                && !string.IsNullOrWhiteSpace(detail)
                && problem.TryGetProperty("message", out var message) && message.GetString() == detail
                && !body.Contains("   at ", StringComparison.Ordinal);
            return (type, wellFormed);
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or FormatException)
        {
            return (null, false);
        }
    }
}
