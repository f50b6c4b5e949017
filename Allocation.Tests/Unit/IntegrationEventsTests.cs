using System.Text.Json;
using Allocation.Domain;
using Allocation.Infrastructure.Outbox;

namespace Allocation.Tests.Unit;

/// <summary>The published contract: each event's type and the exact fields of its data.</summary>
public class IntegrationEventsTests
{
    private static readonly OrderLine Line = new("o1", "SOFA", 3);

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new BatchCreated("b1", "SOFA", 20, new DateOnly(2026, 12, 24)), "allocation.batch.created",
            """{"ref":"b1","sku":"SOFA","qty":20,"eta":"2026-12-24"}""").SetName("batch created");
        yield return new TestCaseData(new BatchChanged("b1", "SOFA", 20, 5, null, new DateOnly(2027, 1, 2)), "allocation.batch.changed",
            """{"ref":"b1","sku":"SOFA","qty":{"before":20,"after":5},"eta":{"before":null,"after":"2027-01-02"}}""").SetName("batch changed");
        yield return new TestCaseData(new LineAllocated(Line, "b1"), "allocation.line.allocated",
            """{"orderid":"o1","sku":"SOFA","qty":3,"batchref":"b1"}""").SetName("line allocated");
        yield return new TestCaseData(new LineDeallocated(Line, "b1", DeallocationReason.Requested), "allocation.line.deallocated",
            """{"orderid":"o1","sku":"SOFA","qty":3,"batchref":"b1","reason":"requested"}""").SetName("line deallocated on request");
        yield return new TestCaseData(new LineDeallocated(Line, "b1", DeallocationReason.BatchReduced), "allocation.line.deallocated",
            """{"orderid":"o1","sku":"SOFA","qty":3,"batchref":"b1","reason":"batch_reduced"}""").SetName("line deallocated by a reduction");
        yield return new TestCaseData(new LineReallocated(Line, "b1", "b2"), "allocation.line.reallocated",
            """{"orderid":"o1","sku":"SOFA","qty":3,"from":"b1","to":"b2"}""").SetName("line reallocated");
        yield return new TestCaseData(new StockRanOut(Line), "allocation.out_of_stock",
            """{"orderid":"o1","sku":"SOFA","qty":3}""").SetName("out of stock");
    }

    [TestCaseSource(nameof(Cases))]
    public void Each_domain_event_has_its_type_and_exact_data(ProductEvent productEvent, string type, string data)
    {
        var described = IntegrationEvents.Describe(productEvent);

        described.Type.Should().Be(type);
        described.Data.Should().Be(data);
    }

    [Test]
    public void Identifiers_with_any_text_are_written_as_valid_json()
    {
        var described = IntegrationEvents.Describe(new StockRanOut(new OrderLine("o\"1\\ é 🚀", "SOFA", 1)));

        JsonDocument.Parse(described.Data).RootElement.GetProperty("orderid").GetString().Should().Be("o\"1\\ é 🚀");
    }
}
