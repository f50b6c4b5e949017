using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// Every kind of bad request, in one corpus: each gets exactly the status and problem type it is
/// documented to get (and names the offending field where there is one), and nothing in the
/// database changes. Hostile input (malformed and oversized bodies, broken Unicode, injection,
/// wrong methods and media types) and plain validation failures alike.
/// </summary>
public class BadInputTests : ApiFixture
{
    private static readonly string TenThousand = new('a', 10_000);
    private static readonly string TooLong = new('x', 256);

    private const string Validation = ProblemTypes.Validation;
    private const string BodyField = "body";

    /// <summary>Every case checks that nothing at all was written.</summary>
    protected override bool NeedsItsOwnDatabase => true;

    public static IEnumerable<TestCaseData> Corpus()
    {
        // Malformed JSON: where the parser stopped is not a field the client can fix, so no field is named.
        yield return Json("truncated object", """{"orderid":"o","sku":"s","qty":1""");
        yield return Json("truncated string", """{"orderid":"o""");
        yield return Json("trailing comma", """{"orderid":"o","sku":"s","qty":1,}""");
        yield return Json("single quotes", "{'orderid':'o','sku':'s','qty':1}");
        yield return Json("two objects", """{"orderid":"o","sku":"s","qty":1}{"orderid":"o"}""");
        yield return Json("comment", """{"orderid":"o", /* hi */ "sku":"s","qty":1}""");
        yield return Json("deep nesting", new string('[', 5000) + new string(']', 5000));
        yield return Bytes("invalid UTF-8", [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]);
        yield return Json("raw NUL byte", "{\"orderid\":\"o\0\",\"sku\":\"s\",\"qty\":1}");
        yield return Json("NaN", """{"orderid":"o","sku":"s","qty":NaN}""");
        yield return Json("plain text", "not json at all");
        yield return Json("empty body", "", field: BodyField);
        yield return Json("array body", "[]", field: BodyField);
        yield return Json("null body", "null", field: BodyField);
        yield return Json("string body", "\"allocate\"", field: BodyField);
        yield return Json("number body", "42", field: BodyField);

        // Wrong JSON types and nulls.
        yield return Json("qty boolean", """{"orderid":"o","sku":"s","qty":true}""", field: "qty");
        yield return Json("qty array", """{"orderid":"o","sku":"s","qty":[1]}""", field: "qty");
        yield return Json("qty object", """{"orderid":"o","sku":"s","qty":{"n":1}}""", field: "qty");
        yield return Json("qty null", """{"orderid":"o","sku":"s","qty":null}""", field: "qty");
        yield return Json("qty as string", """{"orderid":"o","sku":"s","qty":"3"}""", field: "qty");
        yield return Json("qty fractional", """{"orderid":"o","sku":"s","qty":2.5}""", field: "qty");
        yield return Json("sku object", """{"orderid":"o","sku":{"a":1},"qty":1}""", field: "sku");
        yield return Json("orderid array", """{"orderid":["o"],"sku":"s","qty":1}""", field: "orderid");
        yield return Json("orderid as number", """{"orderid":5,"sku":"s","qty":1}""", field: "orderid");
        yield return Json("all null", """{"orderid":null,"sku":null,"qty":null}""", field: "orderid");
        yield return Json("eta not a calendar date", """{"ref":"r","sku":"s","qty":1,"eta":"2021-02-30"}""", "/add_batch", field: "eta");
        yield return Json("eta wrong format", """{"ref":"r","sku":"s","qty":1,"eta":"01/02/2021"}""", "/add_batch", field: "eta");
        yield return Json("eta as number", """{"ref":"r","sku":"s","qty":1,"eta":20210101}""", "/add_batch", field: "eta");

        // Missing, blank and out-of-range fields.
        yield return Json("orderid missing", """{"sku":"s","qty":1}""", field: "orderid");
        yield return Json("orderid empty", """{"orderid":"","sku":"s","qty":1}""", field: "orderid");
        yield return Json("orderid blank", """{"orderid":"   ","sku":"s","qty":1}""", field: "orderid");
        yield return Json("orderid 256 characters", $$"""{"orderid":"{{TooLong}}","sku":"s","qty":1}""", field: "orderid");
        yield return Json("orderid 10,000 characters", $$"""{"orderid":"{{TenThousand}}","sku":"s","qty":1}""", field: "orderid");
        yield return Json("sku missing", """{"orderid":"o","qty":1}""", field: "sku");
        yield return Json("sku blank", """{"orderid":"o","sku":"\t","qty":1}""", field: "sku");
        yield return Json("sku 256 characters", $$"""{"orderid":"o","sku":"{{TooLong}}","qty":1}""", field: "sku");
        yield return Json("qty missing", """{"orderid":"o","sku":"s"}""", field: "qty");
        yield return Json("qty zero", """{"orderid":"o","sku":"s","qty":0}""", field: "qty");
        yield return Json("qty negative", """{"orderid":"o","sku":"s","qty":-1}""", field: "qty");
        yield return Json("qty above the maximum", """{"orderid":"o","sku":"s","qty":1000001}""", field: "qty");
        yield return Json("qty 2^31", """{"orderid":"o","sku":"s","qty":2147483648}""", field: "qty");
        yield return Json("qty below -2^31", """{"orderid":"o","sku":"s","qty":-2147483649}""", field: "qty");
        yield return Json("qty 2^63", """{"orderid":"o","sku":"s","qty":9223372036854775808}""", field: "qty");
        yield return Json("qty 1e400", """{"orderid":"o","sku":"s","qty":1e400}""", field: "qty");
        yield return Json("deallocate orderid missing", """{"sku":"s"}""", "/deallocate", field: "orderid");
        yield return Json("deallocate sku empty", """{"orderid":"o","sku":""}""", "/deallocate", field: "sku");
        yield return Json("ref missing", """{"sku":"s","qty":1,"eta":null}""", "/add_batch", field: "ref");
        yield return Json("ref 256 characters", $$"""{"ref":"{{TooLong}}","sku":"s","qty":1}""", "/add_batch", field: "ref");
        yield return Json("ref 10,000 characters", $$"""{"ref":"{{TenThousand}}","sku":"s","qty":1}""", "/add_batch", field: "ref");
        yield return Json("batch sku blank", """{"ref":"r","sku":" ","qty":1}""", "/add_batch", field: "sku");
        yield return Json("batch qty zero", """{"ref":"r","sku":"s","qty":0}""", "/add_batch", field: "qty");
        yield return Json("batch qty negative", """{"ref":"r","sku":"s","qty":-10,"eta":null}""", "/add_batch", field: "qty");
        yield return Json("batch qty 2^31", """{"ref":"r","sku":"s","qty":2147483648,"eta":null}""", "/add_batch", field: "qty");

        // A whole order: a line's field of the wrong JSON type is named by its path, as FluentValidation names a line's invalid field.
        yield return Json("order line qty as string", """{"lines":[{"sku":"RED-CHAIR","qty":"ten"}]}""", "/orders/o/allocation", field: "lines[0].qty");
        yield return Json("order line sku as number", """{"lines":[{"sku":5,"qty":1}]}""", "/orders/o/allocation", field: "lines[0].sku");
        yield return Json("order line a number", """{"lines":[7]}""", "/orders/o/allocation", field: "lines[0]");
        yield return Json("order line unknown field", """{"lines":[{"sku":"s","qty":1,"price":3}]}""", "/orders/o/allocation", field: "lines[0].price");

        // Changing a batch: at least one field, each valid; a batch that does not exist.
        yield return Patch("change with no field", "{}", field: "$");
        yield return Patch("change qty negative", """{"qty":-1}""", field: "qty");
        yield return Patch("change qty above the maximum", """{"qty":1000001}""", field: "qty");
        yield return Patch("change qty null", """{"qty":null}""", field: "qty");
        yield return Patch("change qty as string", """{"qty":"3"}""", field: "qty");
        yield return Patch("change eta not a date", """{"eta":"soon"}""", field: "eta");
        yield return Patch("change eta before 2000", """{"qty":1,"eta":"1999-12-31"}""", field: "eta");
        yield return Patch("change unknown field", """{"quantity":3}""", field: "quantity");
        yield return Patch("change null body", "null", field: BodyField);
        yield return Raw("change as text/plain", HttpMethod.Patch, "/batches/no-such-batch", """{"qty":1}""", "text/plain", 415, ProblemTypes.ForStatus(415));
        yield return Patch("change of a batch that does not exist", """{"qty":1}""", status: 404, type: ProblemTypes.NotFound);
        yield return Raw("change of an injected reference", HttpMethod.Patch, "/batches/'%20OR%201=1%20--", """{"qty":0}""", "application/json", 404, ProblemTypes.NotFound);

        // Reading the feed: a cursor it returned, a limit from 1 to 1,000.
        yield return Query("events limit 0", "/events?limit=0", field: "limit");
        yield return Query("events limit 1001", "/events?limit=1001", field: "limit");
        yield return Query("events limit not a number", "/events?limit=ten", field: "limit");
        yield return Query("events cursor made up", "/events?after=yesterday", field: "after");
        yield return Query("events cursor with three parts", "/events?after=1-2-3", field: "after");
        yield return Query("events cursor negative", "/events?after=-1-5", field: "after");
        yield return Raw("POST /events", HttpMethod.Post, "/events", "{}", "application/json", 405, ProblemTypes.ForStatus(405));

        // Control characters, NUL and broken Unicode inside strings.
        yield return Json("NUL in sku", """{"orderid":"o","sku":"ab\u0000cd","qty":1}""", field: "sku");
        yield return Json("NUL in ref", """{"ref":"r\u0000","sku":"s","qty":1}""", "/add_batch", field: "ref");
        yield return Json("bell character", """{"orderid":"o\u0007","sku":"s","qty":1}""", field: "orderid");
        yield return Json("newline in orderid", """{"orderid":"line\nbreak","sku":"s","qty":1}""", field: "orderid");
        yield return Json("lone surrogate", """{"orderid":"o","sku":"\ud800","qty":1}""", field: "sku");

        // Unknown fields.
        yield return Json("unknown field", """{"orderid":"o","sku":"s","qty":1,"price":9.99}""", field: "price");
        yield return Json("misspelt field", """{"orderId":"o","sku":"s","qty":1}""", field: "orderId");
        yield return Json("unknown field on add_batch", """{"ref":"r","sku":"s","qty":1,"eta":null,"warehouse":"x"}""", "/add_batch", field: "warehouse");

        // Well-formed, but naming nothing that exists: data, never SQL.
        yield return Json("non-BMP unknown sku", """{"orderid":"o","sku":"🦄-SKU-that-does-not-exist","qty":1}""", status: 400, type: ProblemTypes.InvalidSku);
        yield return Json("injection in sku", """{"orderid":"o","sku":"'; DROP TABLE batches; --","qty":1}""", status: 400, type: ProblemTypes.InvalidSku);
        yield return Json("injection in orderid", """{"orderid":"x' OR '1'='1","sku":"' OR 1=1 --","qty":1}""", status: 400, type: ProblemTypes.InvalidSku);
        yield return Json("injection in deallocate", """{"orderid":"' OR ''='","sku":"x'); DELETE FROM order_lines; --"}""", "/deallocate", status: 404, type: ProblemTypes.NotFound);
        yield return Raw("injection in batch path", HttpMethod.Get, "/batches/'%20OR%201=1%20--", null, null, 404, ProblemTypes.NotFound);
        yield return Raw("injection in allocations path", HttpMethod.Get, "/allocations/x'%3B%20DROP%20TABLE%20allocations%3B--", null, null, 404, ProblemTypes.NotFound);

        // Wrong methods, media types, sizes and routes.
        yield return Raw("GET /allocate", HttpMethod.Get, "/allocate", null, null, 405, ProblemTypes.ForStatus(405));
        yield return Raw("PUT /add_batch", HttpMethod.Put, "/add_batch", """{"ref":"r","sku":"s","qty":1}""", "application/json", 405, ProblemTypes.ForStatus(405));
        yield return Raw("DELETE /batches/x", HttpMethod.Delete, "/batches/x", null, null, 405, ProblemTypes.ForStatus(405));
        yield return Raw("PATCH /deallocate", HttpMethod.Patch, "/deallocate", "{}", "application/json", 405, ProblemTypes.ForStatus(405));
        yield return Raw("POST /allocations/x", HttpMethod.Post, "/allocations/x", "{}", "application/json", 405, ProblemTypes.ForStatus(405));
        yield return Raw("text/plain", HttpMethod.Post, "/allocate", """{"orderid":"o","sku":"s","qty":1}""", "text/plain", 415, ProblemTypes.ForStatus(415));
        yield return Raw("form", HttpMethod.Post, "/allocate", "orderid=o&sku=s&qty=1", "application/x-www-form-urlencoded", 415, ProblemTypes.ForStatus(415));
        yield return Raw("xml", HttpMethod.Post, "/add_batch", "<batch ref='r'/>", "application/xml", 415, ProblemTypes.ForStatus(415));
        yield return Raw("no content type", HttpMethod.Post, "/deallocate", """{"orderid":"o","sku":"s"}""", null, 415, ProblemTypes.ForStatus(415));
        yield return Raw("30 KB body", HttpMethod.Post, "/allocate", $$"""{"orderid":"{{new string('z', 30_000)}}","sku":"s","qty":1}""", "application/json", 413, ProblemTypes.PayloadTooLarge);
        yield return Raw("unknown route", HttpMethod.Get, "/allocate/../../etc/passwd", null, null, 404, ProblemTypes.ForStatus(404));
    }

    private static TestCaseData Json(
        string name, string body, string path = "/allocate", string? field = null, int status = 400, string type = Validation) =>
        Case(name, HttpMethod.Post, path, Encoding.UTF8.GetBytes(body), "application/json", status, type, field);

    private static TestCaseData Patch(
        string name, string body, string path = "/batches/no-such-batch", string? field = null, int status = 400, string type = Validation) =>
        Case(name, HttpMethod.Patch, path, Encoding.UTF8.GetBytes(body), "application/json", status, type, field);

    private static TestCaseData Query(string name, string path, string field) =>
        Case(name, HttpMethod.Get, path, null, null, 400, Validation, field);

    private static TestCaseData Bytes(string name, byte[] body) =>
        Case(name, HttpMethod.Post, "/allocate", body, "application/json", 400, Validation, null);

    private static TestCaseData Raw(string name, HttpMethod method, string path, string? body, string? contentType, int status, string type) =>
        Case(name, method, path, body is null ? null : Encoding.UTF8.GetBytes(body), contentType, status, type, null);

    private static TestCaseData Case(
        string name, HttpMethod method, string path, byte[]? body, string? contentType, int status, string type, string? field) =>
        new TestCaseData(method.Method, path, body, contentType, status, type, field).SetName($"{status} for {name}");

    [TestCaseSource(nameof(Corpus))]
    public async Task Gets_exactly_its_problem_and_changes_nothing(
        string method, string path, byte[]? body, string? contentType, int status, string type, string? field)
    {
        var before = await DatabaseSnapshot.TakeAsync(Store);
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = contentType is null ? null : new MediaTypeHeaderValue(contentType);
        }

        using var response = await Client.SendAsync(request);

        var problem = await response.ShouldBeProblemAsync((HttpStatusCode)status, type);
        if (field is not null)
        {
            problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Contain(field);
        }

        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }
}
