using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>
/// The edges of the HTTP contract: problems whatever Accept says, identifiers that round-trip
/// through their Location, strict JSON, and the methods each resource answers.
/// </summary>
public class ContractEdgeTests : ApiFixture
{
    private static readonly string[] NonJsonAccepts = ["text/plain", "application/xml", "text/html"];

    /// <summary>Refusals check that nothing at all was written.</summary>
    protected override bool NeedsItsOwnDatabase => true;

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? json, string accept)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Accept.ParseAdd(accept);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return await client.SendAsync(request);
    }

    [TestCaseSource(nameof(NonJsonAccepts))]
    public async Task Every_kind_of_problem_keeps_its_type_and_message_whatever_accept_says(string accept)
    {
        var (sku, batch) = (Unique.Sku(), Unique.BatchRef());
        await AddStockAsync((batch, sku, 5, null));
        var cases = new (HttpMethod Method, string Path, string? Json, HttpStatusCode Status, string Type)[]
        {
            (HttpMethod.Post, "/allocate", $$"""{"orderid":"o","sku":"{{Unique.Sku()}}","qty":1}""", HttpStatusCode.BadRequest, ProblemTypes.InvalidSku),
            (HttpMethod.Post, "/allocate", $$"""{"orderid":"o","sku":"{{sku}}","qty":6}""", HttpStatusCode.BadRequest, ProblemTypes.OutOfStock),
            (HttpMethod.Post, "/allocate", """{"orderid":"o","sku":"s"}""", HttpStatusCode.BadRequest, ProblemTypes.Validation),
            (HttpMethod.Post, "/add_batch", $$"""{"ref":"{{batch}}","sku":"{{sku}}","qty":1}""", HttpStatusCode.Conflict, ProblemTypes.DuplicateBatch),
            (HttpMethod.Get, $"/batches/{Unique.BatchRef()}", null, HttpStatusCode.NotFound, ProblemTypes.NotFound),
            (HttpMethod.Post, "/deallocate", $$"""{"orderid":"{{Unique.OrderId()}}","sku":"{{sku}}"}""", HttpStatusCode.NotFound, ProblemTypes.NotFound),
            (HttpMethod.Put, "/allocate", null, HttpStatusCode.MethodNotAllowed, ProblemTypes.ForStatus(405)),
        };

        foreach (var (method, path, json, status, type) in cases)
        {
            using var asJson = await SendAsync(Client, method, path, json, "application/json");
            using var asOther = await SendAsync(Client, method, path, json, accept);

            var expected = await asJson.ShouldBeProblemAsync(status, type);
            var actual = await asOther.ShouldBeProblemAsync(status, type);
            actual.GetProperty("message").GetString().Should().Be(expected.GetProperty("message").GetString(), $"{method} {path}");
        }
    }

    /// <summary>Odd but legal identifiers: each must be readable at the Location it was created under.</summary>
    private static IEnumerable<TestCaseData> OddIdentifiers()
    {
        yield return new TestCaseData("with spaces in it").SetName("Round-trips spaces");
        yield return new TestCaseData("100%-cotton").SetName("Round-trips a percent sign");
        yield return new TestCaseData("%2F-looks-encoded").SetName("Round-trips text that looks percent-encoded");
        yield return new TestCaseData("a+b=c&d").SetName("Round-trips plus, equals and ampersand");
        yield return new TestCaseData("why?#not").SetName("Round-trips query and fragment marks");
        yield return new TestCaseData(@"back\slash").SetName("Round-trips a backslash");
        yield return new TestCaseData("...").SetName("Round-trips three dots");
        yield return new TestCaseData("Größe-ÉTÉ-日本").SetName("Round-trips non-ASCII letters");
        yield return new TestCaseData("🦄-unicorn-🛋️").SetName("Round-trips emoji");
        // The order id comes to exactly 255 characters: 240 emoji, "order" and a 10-character suffix (505 UTF-16 units).
        yield return new TestCaseData(string.Concat(Enumerable.Repeat("🦄", 240))).SetName("Round-trips 255 characters of emoji");
    }

    [TestCaseSource(nameof(OddIdentifiers))]
    public async Task Every_accepted_identifier_can_be_read_back_at_its_location(string odd)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var (reference, sku, orderId) = (odd + suffix, odd + "sku" + suffix, odd + "order" + suffix);

        using var added = await Client.PostAsJsonAsync("/add_batch", new { @ref = reference, sku, qty = 10, eta = (string?)null });
        await added.ShouldBeJsonAsync(HttpStatusCode.Created);
        using var batch = await Client.GetAsync(added.Headers.Location);
        (await batch.ShouldBeJsonAsync(HttpStatusCode.OK)).GetProperty("ref").GetString().Should().Be(reference);

        using var allocated = await Client.PostAsJsonAsync("/allocate", new { orderid = orderId, sku, qty = 1 });
        await allocated.ShouldBeJsonAsync(HttpStatusCode.Created);
        using var listed = await Client.GetAsync(allocated.Headers.Location);
        var allocation = (await listed.ShouldBeJsonAsync(HttpStatusCode.OK)).EnumerateArray().Single();
        (allocation.GetProperty("sku").GetString(), allocation.GetProperty("batchref").GetString()).Should().Be((sku, reference));
    }

    /// <summary>Identifiers that could not be addressed, and input that strict JSON refuses: each a 400 or 415 that changes nothing.</summary>
    private static IEnumerable<TestCaseData> Refused()
    {
        yield return Refuse("a slash in a ref", "/add_batch", """{"ref":"a/b","sku":"s","qty":1}""", 400, "ref", says: "must not contain '/'");
        yield return Refuse("a ref that is a dot", "/add_batch", """{"ref":".","sku":"s","qty":1}""", 400, "ref", says: "or be '.' or '..'");
        yield return Refuse("a ref that is two dots", "/add_batch", """{"ref":"..","sku":"s","qty":1}""", 400, "ref", says: "or be '.' or '..'");
        yield return Refuse("a slash in an order id", "/allocate", """{"orderid":"ord/x","sku":"s","qty":1}""", 400, "orderid", says: "must not contain '/'");
        yield return Refuse("256 characters of emoji", "/add_batch", $$"""{"ref":"{{string.Concat(Enumerable.Repeat("🦄", 256))}}","sku":"s","qty":1}""", 400, "ref", says: "at most 255 characters");
        yield return Refuse("a duplicated property", "/allocate", """{"orderid":"o","sku":"s","qty":1,"qty":2}""", 400, "qty", says: "given more than once");
        yield return Refuse("a property in the wrong case", "/allocate", """{"orderid":"o","sku":"s","QTY":1}""", 400, "QTY", says: "'QTY' is not a field of this request.");
        yield return Refuse("an unknown property", "/add_batch", """{"ref":"r","sku":"s","qty":1,"price":2}""", 400, "price", says: "'price' is not a field of this request.");
        yield return Refuse("a string for a number", "/allocate", """{"orderid":"o","sku":"s","qty":"1"}""", 400, "qty", says: "'qty' has the wrong JSON type or format");
        yield return Refuse("an eta before 2000", "/add_batch", """{"ref":"r","sku":"s","qty":1,"eta":"1999-12-31"}""", 400, "eta", says: "from 2000-01-01 to 2199-12-31");
        yield return Refuse("the smallest date", "/add_batch", """{"ref":"r","sku":"s","qty":1,"eta":"0001-01-01"}""", 400, "eta", says: "from 2000-01-01 to 2199-12-31");
        yield return Refuse("the largest date", "/add_batch", """{"ref":"r","sku":"s","qty":1,"eta":"9999-12-31"}""", 400, "eta", says: "from 2000-01-01 to 2199-12-31");
        yield return Refuse("an eta after 2199", "/add_batch", """{"ref":"r","sku":"s","qty":1,"eta":"2200-01-01"}""", 400, "eta", says: "from 2000-01-01 to 2199-12-31");
        yield return Refuse("merge-patch+json", "/allocate", """{"orderid":"o","sku":"s","qty":1}""", 415, null, "application/merge-patch+json");
        yield return Refuse("text/json", "/allocate", """{"orderid":"o","sku":"s","qty":1}""", 415, null, "text/json");
        yield return Refuse("a vendor +json type", "/add_batch", """{"ref":"r","sku":"s","qty":1}""", 415, null, "application/vnd.allocation+json");
    }

    private static TestCaseData Refuse(
        string name, string path, string body, int status, string? field, string contentType = "application/json", string? says = null) =>
        new TestCaseData(path, body, contentType, status, field, says).SetName("Refuses " + name);

    [TestCaseSource(nameof(Refused))]
    public async Task Is_refused_up_front_and_changes_nothing(string path, string body, string contentType, int status, string? field, string? says)
    {
        var before = await DatabaseSnapshot.TakeAsync(Store);
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);

        using var response = await Client.PostAsync(new Uri(path, UriKind.Relative), content);

        var problem = await response.ShouldBeProblemAsync(
            (HttpStatusCode)status, status == 400 ? ProblemTypes.Validation : ProblemTypes.ForStatus(status));
        if (field is not null)
        {
            problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Equal(field);
            problem.GetProperty("errors").GetProperty(field).EnumerateArray().Single().GetString().Should().Contain(says);
        }

        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }

    [Test]
    public async Task An_identifier_in_a_path_that_could_never_be_stored_is_simply_not_found()
    {
        foreach (var path in new[] { "/batches/bell%07", "/allocations/bell%07", "/batches/%ED%A0%80", $"/batches/{new string('x', 300)}" })
        {
            using var response = await Client.GetAsync(new Uri(path, UriKind.Relative));
            await response.ShouldBeProblemAsync(HttpStatusCode.NotFound, ProblemTypes.NotFound);
        }
    }

    [Test]
    public async Task Health_answers_get_and_head_and_refuses_other_methods()
    {
        using var get = await Client.GetAsync(new Uri("/health", UriKind.Relative));
        using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/health", UriKind.Relative)));

        get.StatusCode.Should().Be(HttpStatusCode.OK);
        head.StatusCode.Should().Be(HttpStatusCode.OK);
        (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch })
        {
            using var refused = await Client.SendAsync(new HttpRequestMessage(method, new Uri("/health", UriKind.Relative)));
            await refused.ShouldBeProblemAsync(HttpStatusCode.MethodNotAllowed, ProblemTypes.ForStatus(405));
        }
    }

    [Test]
    public async Task Head_works_wherever_get_does()
    {
        var (sku, batch, orderId) = (Unique.Sku(), Unique.BatchRef(), Unique.OrderId());
        await AddStockAsync((batch, sku, 5, null));
        (await Client.PostAsJsonAsync("/allocate", new { orderid = orderId, sku, qty = 1 })).StatusCode.Should().Be(HttpStatusCode.Created);

        foreach (var (path, status) in new[]
        {
            ($"/batches/{batch}", HttpStatusCode.OK), ($"/allocations/{orderId}", HttpStatusCode.OK),
            ($"/batches/{Unique.BatchRef()}", HttpStatusCode.NotFound), ($"/allocations/{Unique.OrderId()}", HttpStatusCode.NotFound),
        })
        {
            using var get = await Client.GetAsync(new Uri(path, UriKind.Relative));
            using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(path, UriKind.Relative)));

            head.StatusCode.Should().Be(status, path);
            get.StatusCode.Should().Be(status, path);
            head.Content.Headers.ContentType?.MediaType.Should().Be(get.Content.Headers.ContentType?.MediaType);
            (await head.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
        }
    }
}
