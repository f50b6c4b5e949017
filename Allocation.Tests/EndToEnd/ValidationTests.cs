using System.Net;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>Every validation rule, through HTTP: a 400 problem naming the field as the client spelled it.</summary>
[NonParallelizable]
public class ValidationTests : ApiFixture
{
    private static readonly string TooLong = new('x', 256);
    private static readonly string LongestAllowed = new('x', 255);

    private static IEnumerable<TestCaseData> InvalidAllocations()
    {
        yield return Case("/allocate", """{"sku":"s","qty":1}""", "orderid", "orderid missing");
        yield return Case("/allocate", """{"orderid":null,"sku":"s","qty":1}""", "orderid", "orderid null");
        yield return Case("/allocate", """{"orderid":"","sku":"s","qty":1}""", "orderid", "orderid empty");
        yield return Case("/allocate", """{"orderid":"   ","sku":"s","qty":1}""", "orderid", "orderid blank");
        yield return Case("/allocate", $$"""{"orderid":"{{TooLong}}","sku":"s","qty":1}""", "orderid", "orderid 256 chars");
        yield return Case("/allocate", """{"orderid":"o","qty":1}""", "sku", "sku missing");
        yield return Case("/allocate", """{"orderid":"o","sku":"\t","qty":1}""", "sku", "sku blank");
        yield return Case("/allocate", $$"""{"orderid":"o","sku":"{{TooLong}}","qty":1}""", "sku", "sku 256 chars");
        yield return Case("/allocate", """{"orderid":"o","sku":"s"}""", "qty", "qty missing");
        yield return Case("/allocate", """{"orderid":"o","sku":"s","qty":0}""", "qty", "qty zero");
        yield return Case("/allocate", """{"orderid":"o","sku":"s","qty":-3}""", "qty", "qty negative");
        yield return Case("/allocate", """{"orderid":"o","sku":"s","qty":1000001}""", "qty", "qty above maximum");
        yield return Case("/allocate", """{"orderid":"o","sku":"s","qty":"3"}""", "qty", "qty as string");
        yield return Case("/allocate", """{"orderid":"o","sku":"s","qty":2.5}""", "qty", "qty fractional");
        yield return Case("/allocate", """{"orderid":5,"sku":"s","qty":1}""", "orderid", "orderid as number");
        yield return Case("/deallocate", """{"sku":"s"}""", "orderid", "deallocate orderid missing");
        yield return Case("/deallocate", """{"orderid":"o","sku":""}""", "sku", "deallocate sku empty");
        yield return Case("/add_batch", """{"sku":"s","qty":1,"eta":null}""", "ref", "ref missing");
        yield return Case("/add_batch", $$"""{"ref":"{{TooLong}}","sku":"s","qty":1}""", "ref", "ref 256 chars");
        yield return Case("/add_batch", """{"ref":"r","sku":" ","qty":1}""", "sku", "batch sku blank");
        yield return Case("/add_batch", """{"ref":"r","sku":"s","qty":0}""", "qty", "batch qty zero");
        yield return Case("/add_batch", """{"ref":"r","sku":"s","qty":1,"eta":"2021-02-30"}""", "eta", "eta not a calendar date");
        yield return Case("/add_batch", """{"ref":"r","sku":"s","qty":1,"eta":"01/02/2021"}""", "eta", "eta wrong format");
        yield return Case("/add_batch", """{"ref":"r","sku":"s","qty":1,"eta":20210101}""", "eta", "eta as number");
    }

    private static TestCaseData Case(string path, string body, string field, string name) =>
        new TestCaseData(path, body, field).SetName($"Rejects {name} on {path}");

    [TestCaseSource(nameof(InvalidAllocations))]
    public async Task Invalid_fields_are_400_keyed_by_the_json_field_name_and_change_nothing(string path, string body, string field)
    {
        var before = await DatabaseSnapshot.TakeAsync(Store);

        var response = await Client.PostRawAsync(path, body);

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation);
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Contain(field);
        (await DatabaseSnapshot.TakeAsync(Store)).Should().Be(before);
    }

    [Test]
    public async Task The_longest_allowed_identifiers_are_accepted()
    {
        var sku = LongestAllowed[..200] + Guid.NewGuid().ToString("N")[..10];
        var reference = Guid.NewGuid().ToString("N")[..10] + LongestAllowed[..245];

        var response = await Client.PostJsonAsync("/add_batch", new { @ref = reference, sku, qty = 1_000_000, eta = (string?)null });

        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Several_invalid_fields_are_reported_together()
    {
        var response = await Client.PostRawAsync("/allocate", """{"orderid":"","sku":"","qty":0}""");

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation);
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().BeEquivalentTo("orderid", "sku", "qty");
    }

    [TestCase("{\"orderid\":\"o\",\"sku\":\"s\"", TestName = "Truncated JSON is 400")]
    [TestCase("not json at all", TestName = "Plain text in a JSON body is 400")]
    [TestCase("", TestName = "An empty body is 400")]
    [TestCase("[]", TestName = "A JSON array instead of an object is 400")]
    [TestCase("null", TestName = "A JSON null body is 400")]
    public async Task Malformed_bodies_are_400_problems(string body)
    {
        var response = await Client.PostRawAsync("/allocate", body);
        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ProblemTypes.Validation);
    }

    [TestCase(null, TestName = "A body without a content type is 415")]
    [TestCase("text/plain", TestName = "A text/plain body is 415")]
    [TestCase("application/xml", TestName = "An XML body is 415")]
    public async Task Bodies_that_are_not_json_are_415_problems(string? contentType)
    {
        var response = await Client.PostRawAsync("/allocate", """{"orderid":"o","sku":"s","qty":1}""", contentType);
        await response.ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }
}
