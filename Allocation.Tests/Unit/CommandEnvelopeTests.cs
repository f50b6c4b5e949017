using System.Text;
using Allocation.Infrastructure.Messaging.Commands;

namespace Allocation.Tests.Unit;

/// <summary>What the consumer takes as a command, and what it dead-letters as malformed without trying.</summary>
public class CommandEnvelopeTests
{
    private const string Time = "2026-12-07T05:00:00Z";

    [Test]
    public void A_structured_cloud_event_of_a_known_type_is_a_command()
    {
        var command = Parse($$$"""{"specversion":"1.0","id":"c-1","source":"/shop","type":"allocation.batch.change","time":"{{{Time}}}","data":{"ref":"b1","qty":3}}""");

        command.Id.Should().Be("c-1");
        command.Type.Should().Be(CommandTypes.ChangeBatch);
        command.Time.Should().Be(DateTimeOffset.Parse(Time, System.Globalization.CultureInfo.InvariantCulture));
        command.Data.GetProperty("qty").GetInt32().Should().Be(3);
    }

    [Test]
    public void The_fingerprint_is_of_what_is_asked_not_of_the_envelope()
    {
        var first = Parse($$$"""{"specversion":"1.0","id":"c-1","source":"/shop","type":"allocation.batch.change","time":"{{{Time}}}","data":{"ref":"b1","qty":3}}""");
        var resent = Parse("""{"type":"allocation.batch.change","id":"c-1","specversion":"1.0","source":"/other","time":"2026-12-07T06:00:00Z","data": { "ref": "b1", "qty": 3 }}""");
        var other = Parse($$$"""{"specversion":"1.0","id":"c-1","source":"/shop","type":"allocation.batch.change","time":"{{{Time}}}","data":{"ref":"b1","qty":4}}""");

        resent.Fingerprint.Should().Equal(first.Fingerprint);
        other.Fingerprint.Should().NotEqual(first.Fingerprint);
    }

    [TestCase("not json")]
    [TestCase("[1, 2]")]
    [TestCase("""{"specversion":"0.3","id":"c","source":"/s","type":"allocation.batch.change","time":"2026-12-07T05:00:00Z","data":{}}""")]
    [TestCase("""{"specversion":"1.0","source":"/s","type":"allocation.batch.change","time":"2026-12-07T05:00:00Z","data":{}}""")]
    [TestCase("""{"specversion":"1.0","id":"","source":"/s","type":"allocation.batch.change","time":"2026-12-07T05:00:00Z","data":{}}""")]
    [TestCase("""{"specversion":"1.0","id":"a/b","source":"/s","type":"allocation.batch.change","time":"2026-12-07T05:00:00Z","data":{}}""")]
    [TestCase("""{"specversion":"1.0","id":"c","type":"allocation.batch.change","time":"2026-12-07T05:00:00Z","data":{}}""")]
    [TestCase("""{"specversion":"1.0","id":"c","source":"/s","type":"allocation.batch.delete","time":"2026-12-07T05:00:00Z","data":{}}""")]
    [TestCase("""{"specversion":"1.0","id":"c","source":"/s","type":"allocation.batch.change","data":{}}""")]
    [TestCase("""{"specversion":"1.0","id":"c","source":"/s","type":"allocation.batch.change","time":"yesterday","data":{}}""")]
    [TestCase("""{"specversion":"1.0","id":"c","source":"/s","type":"allocation.batch.change","time":"2026-12-07T05:00:00Z","data":"x"}""")]
    public void Anything_else_is_malformed(string body)
    {
        var parsing = () => Parse(body);

        parsing.Should().Throw<MalformedCommand>();
    }

    [Test]
    public void An_id_longer_than_its_rejection_subject_allows_is_malformed()
    {
        var id = new string('x', CommandEnvelope.MaxIdLength + 1);

        var parsing = () => Parse($$$"""{"specversion":"1.0","id":"{{{id}}}","source":"/s","type":"allocation.batch.change","time":"{{{Time}}}","data":{}}""");

        parsing.Should().Throw<MalformedCommand>();
    }

    private static CommandEnvelope Parse(string body) => CommandEnvelope.Parse(Encoding.UTF8.GetBytes(body));
}
