using System.Net;
using Allocation.Api.Errors;
using Allocation.Tests.Support;

namespace Allocation.Tests.EndToEnd;

/// <summary>What validation accepts at its limits, and how it reports several fields at once (refusals are in <see cref="BadInputTests"/>).</summary>
public class ValidationTests : ApiFixture
{
    private static readonly string LongestAllowed = new('x', 255);

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
}
