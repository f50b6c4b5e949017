using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Allocation.Tests.Support;

internal static class HttpAssertions
{
    /// <summary>Asserts an RFC 9457 body with the members every problem carries, and returns it.</summary>
    public static async Task<JsonElement> ShouldBeProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string? type = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, body);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json", body);
        var problem = JsonDocument.Parse(body).RootElement;
        problem.GetProperty("status").GetInt32().Should().Be((int)status);
        problem.GetProperty("title").GetString().Should().NotBeNullOrWhiteSpace();
        problem.GetProperty("type").GetString().Should().NotBeNullOrWhiteSpace();
        problem.GetProperty("detail").GetString().Should().NotBeNullOrWhiteSpace();
        problem.GetProperty("message").GetString().Should().Be(problem.GetProperty("detail").GetString());
        body.Should().NotContain("   at ", "a problem never carries a stack trace");
        if (type is not null)
        {
            problem.GetProperty("type").GetString().Should().Be(type);
        }

        return problem;
    }

    public static async Task<JsonElement> ShouldBeJsonAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(status, body);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/json");
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>Adds a batch through the API, as every test that needs stock does, and insists on the 201.</summary>
    public static async Task AddBatchAsync(this HttpClient client, string reference, string sku, int quantity, string? eta = null)
    {
        using var response = await client.PostAsJsonAsync("/add_batch", new { @ref = reference, sku, qty = quantity, eta });
        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsJsonAsync(path, body);

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, string body, string? contentType = "application/json")
    {
        var content = new StringContent(body);
        content.Headers.ContentType = contentType is null ? null : new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        return client.PostAsync(path, content);
    }
}
