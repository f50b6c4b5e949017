using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>A corpus of bad requests: every one is a 4xx problem, none a 5xx, and nothing in the database changes.</summary>
[NonParallelizable]
public class HostileInputTests : ApiFixture
{
    private static readonly string TenThousand = new('a', 10_000);

    public static IEnumerable<TestCaseData> Corpus()
    {
        // Malformed and truncated JSON.
        yield return Post("truncated object", """{"orderid":"o","sku":"s","qty":1""");
        yield return Post("truncated string", """{"orderid":"o""");
        yield return Post("trailing comma", """{"orderid":"o","sku":"s","qty":1,}""");
        yield return Post("single quotes", "{'orderid':'o','sku':'s','qty':1}");
        yield return Post("two objects", """{"orderid":"o","sku":"s","qty":1}{"orderid":"o"}""");
        yield return Post("comment", """{"orderid":"o", /* hi */ "sku":"s","qty":1}""");
        yield return Post("deep nesting", new string('[', 5000) + new string(']', 5000));
        yield return PostBytes("invalid UTF-8", [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]);
        // Wrong types and nulls.
        yield return Post("qty boolean", """{"orderid":"o","sku":"s","qty":true}""");
        yield return Post("qty array", """{"orderid":"o","sku":"s","qty":[1]}""");
        yield return Post("qty object", """{"orderid":"o","sku":"s","qty":{"n":1}}""");
        yield return Post("qty null", """{"orderid":"o","sku":"s","qty":null}""");
        yield return Post("sku object", """{"orderid":"o","sku":{"a":1},"qty":1}""");
        yield return Post("orderid array", """{"orderid":["o"],"sku":"s","qty":1}""");
        yield return Post("all null", """{"orderid":null,"sku":null,"qty":null}""");
        yield return Post("body null", "null");
        yield return Post("body string", "\"allocate\"");
        yield return Post("body number", "42");
        // Numbers beyond 32 and 64 bits, and non-positive quantities.
        yield return Post("qty 2^31", """{"orderid":"o","sku":"s","qty":2147483648}""");
        yield return Post("qty below -2^31", """{"orderid":"o","sku":"s","qty":-2147483649}""");
        yield return Post("qty 2^63", """{"orderid":"o","sku":"s","qty":9223372036854775808}""");
        yield return Post("qty 1e400", """{"orderid":"o","sku":"s","qty":1e400}""");
        yield return Post("qty NaN", """{"orderid":"o","sku":"s","qty":NaN}""");
        yield return Post("qty zero", """{"orderid":"o","sku":"s","qty":0}""");
        yield return Post("qty negative", """{"orderid":"o","sku":"s","qty":-1}""");
        yield return Post("batch qty 2^31", """{"ref":"r","sku":"s","qty":2147483648,"eta":null}""", "/add_batch");
        yield return Post("batch qty negative", """{"ref":"r","sku":"s","qty":-10,"eta":null}""", "/add_batch");
        // Long strings, control characters, NUL, broken and non-BMP Unicode.
        yield return Post("10,000-character orderid", $$"""{"orderid":"{{TenThousand}}","sku":"s","qty":1}""");
        yield return Post("10,000-character ref", $$"""{"ref":"{{TenThousand}}","sku":"s","qty":1}""", "/add_batch");
        yield return Post("NUL in sku", """{"orderid":"o","sku":"ab\u0000cd","qty":1}""");
        yield return Post("NUL in ref", """{"ref":"r\u0000","sku":"s","qty":1}""", "/add_batch");
        yield return Post("raw NUL byte", "{\"orderid\":\"o\0\",\"sku\":\"s\",\"qty\":1}");
        yield return Post("bell character", """{"orderid":"o\u0007","sku":"s","qty":1}""");
        yield return Post("newline in orderid", """{"orderid":"line\nbreak","sku":"s","qty":1}""");
        yield return Post("lone surrogate", """{"orderid":"o","sku":"\ud800","qty":1}""");
        yield return Post("non-BMP unknown sku", """{"orderid":"o","sku":"🦄-SKU-that-does-not-exist","qty":1}""");
        // SQL injection attempts: data, never SQL.
        yield return Post("injection in sku", """{"orderid":"o","sku":"'; DROP TABLE batches; --","qty":1}""");
        yield return Post("injection in orderid", """{"orderid":"x' OR '1'='1","sku":"' OR 1=1 --","qty":1}""");
        yield return Post("injection in deallocate", """{"orderid":"' OR ''='","sku":"x'); DELETE FROM order_lines; --"}""", "/deallocate");
        yield return Get("injection in batch path", "/batches/'%20OR%201=1%20--");
        yield return Get("injection in allocations path", "/allocations/x'%3B%20DROP%20TABLE%20allocations%3B--");
        // Unknown extra fields.
        yield return Post("unknown field", """{"orderid":"o","sku":"s","qty":1,"price":9.99}""");
        yield return Post("misspelt field", """{"orderId":"o","sku":"s","qty":1}""");
        yield return Post("unknown field on add_batch", """{"ref":"r","sku":"s","qty":1,"eta":null,"warehouse":"x"}""", "/add_batch");
        // Wrong methods.
        yield return Raw("GET /allocate", HttpMethod.Get, "/allocate", null, null);
        yield return Raw("PUT /add_batch", HttpMethod.Put, "/add_batch", """{"ref":"r","sku":"s","qty":1}""", "application/json");
        yield return Raw("DELETE /batches/x", HttpMethod.Delete, "/batches/x", null, null);
        yield return Raw("PATCH /deallocate", HttpMethod.Patch, "/deallocate", "{}", "application/json");
        yield return Raw("POST /allocations/x", HttpMethod.Post, "/allocations/x", "{}", "application/json");
        // Wrong content types.
        yield return Raw("text/plain", HttpMethod.Post, "/allocate", """{"orderid":"o","sku":"s","qty":1}""", "text/plain");
        yield return Raw("form", HttpMethod.Post, "/allocate", "orderid=o&sku=s&qty=1", "application/x-www-form-urlencoded");
        yield return Raw("xml", HttpMethod.Post, "/add_batch", "<batch ref='r'/>", "application/xml");
        yield return Raw("no content type", HttpMethod.Post, "/deallocate", """{"orderid":"o","sku":"s"}""", null);
        // Oversized.
        yield return Post("30 KB body", $$"""{"orderid":"{{new string('z', 30_000)}}","sku":"s","qty":1}""");
        // Unknown routes.
        yield return Get("unknown route", "/allocate/../../etc/passwd");
    }

    private static TestCaseData Post(string name, string body, string path = "/allocate") =>
        Raw(name, HttpMethod.Post, path, body, "application/json");

    private static TestCaseData PostBytes(string name, byte[] body) =>
        new TestCaseData(HttpMethod.Post.Method, "/allocate", body, "application/json").SetName("Hostile: " + name);

    private static TestCaseData Get(string name, string path) => Raw(name, HttpMethod.Get, path, null, null);

    private static TestCaseData Raw(string name, HttpMethod method, string path, string? body, string? contentType) =>
        new TestCaseData(method.Method, path, body is null ? null : Encoding.UTF8.GetBytes(body), contentType).SetName("Hostile: " + name);

    [TestCaseSource(nameof(Corpus))]
    public async Task Is_refused_with_a_4xx_problem_and_changes_nothing(string method, string path, byte[]? body, string? contentType)
    {
        var before = await DatabaseSnapshot.TakeAsync(Store);
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = contentType is null ? null : new MediaTypeHeaderValue(contentType);
        }

        using var response = await Client.SendAsync(request);

        ((int)response.StatusCode).Should().BeInRange(400, 499, await response.Content.ReadAsStringAsync());
        await response.ShouldBeProblemAsync(response.StatusCode);
        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }
}
