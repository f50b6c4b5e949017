using System.Diagnostics;
using System.Text;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Messaging.Commands;
using Allocation.Infrastructure.Outbox;
using Allocation.Infrastructure.Telemetry;

namespace Allocation.Tests.Unit;

/// <summary>
/// A command continues its sender's trace: the W3C context is read from where the relay writes it (and
/// from the CloudEvents envelope), the consumer's span is its child, a malformed one starts a new trace,
/// and the relay publishes an event in the trace kept with it.
/// </summary>
[NonParallelizable]
public class CommandTraceContextTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string SenderSpan = "00f067aa0ba902b7";
    private const string TraceParent = $"00-{TraceId}-{SenderSpan}-01";

    private readonly List<Activity> _spans = [];
    private ActivityListener _listener = null!;

    [SetUp]
    public void ListenToTheConsumerAndTheRelay()
    {
        _spans.Clear();
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is CommandTelemetry.Name or RelayTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = span =>
            {
                lock (_spans)
                {
                    _spans.Add(span);
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    [TearDown]
    public void StopListening() => _listener.Dispose();

    [Test]
    public void A_valid_traceparent_and_tracestate_are_kept()
    {
        var context = TraceContext.Parse(TraceParent, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");

        context.Should().Be(new TraceContext(TraceParent, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
    }

    [TestCase("garbage")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-")]
    [TestCase("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01")]
    [TestCase("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    [TestCase("00-00000000000000000000000000000000-00f067aa0ba902b7-01")]
    [TestCase("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")]
    [TestCase("")]
    [TestCase(null)]
    public void A_malformed_traceparent_is_no_context(string? traceParent) =>
        TraceContext.Parse(traceParent, "rojo=1").Should().BeNull();

    [Test]
    public void A_tracestate_too_long_or_not_printable_is_dropped_alone()
    {
        TraceContext.Parse(TraceParent, "a=" + new string('x', TraceContext.MaxTraceStateLength)).Should().Be(new TraceContext(TraceParent, null));
        TraceContext.Parse(TraceParent, "a=b\nc=d").Should().Be(new TraceContext(TraceParent, null));
    }

    [Test]
    public void The_consumer_reads_the_context_exactly_as_the_relay_writes_it()
    {
        using var publish = new Activity("publish allocation.events").SetIdFormat(ActivityIdFormat.W3C);
        publish.TraceStateString = "vendor=value";
        publish.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        publish.Start();
        var written = AmqpEventPublisher.Properties(
            new OutboxEvent(1, Guid.NewGuid(), "allocation.line.allocated", "LAMP", 1, DateTime.UtcNow, "{}"), publish).Headers!;
        // RabbitMQ hands a consumer string headers as bytes.
        var received = written.ToDictionary(h => h.Key, h => h.Value is string text ? (object?)Encoding.UTF8.GetBytes(text) : h.Value);

        TraceContext.ReadFrom(received).Should().Be(new TraceContext($"00-{publish.TraceId}-{publish.SpanId}-01", "vendor=value"));
    }

    [Test]
    public void The_cloud_events_binary_mode_header_is_read_when_there_is_no_plain_one()
    {
        var headers = new Dictionary<string, object?> { ["cloudEvents:traceparent"] = Encoding.UTF8.GetBytes(TraceParent) };

        TraceContext.ReadFrom(headers).Should().Be(new TraceContext(TraceParent, null));
        TraceContext.ReadFrom(new Dictionary<string, object?> { ["traceparent"] = "nonsense" }).Should().BeNull();
        TraceContext.ReadFrom(null).Should().BeNull();
    }

    [Test]
    public void The_envelope_s_distributed_tracing_extension_is_read_and_is_not_part_of_the_command()
    {
        var traced = CommandEnvelope.Parse(Envelope($""","traceparent":"{TraceParent}","tracestate":"rojo=1" """));
        var malformed = CommandEnvelope.Parse(Envelope(""","traceparent":"00-zz-zz-01" """));
        var plain = CommandEnvelope.Parse(Envelope(""));

        traced.Trace.Should().Be(new TraceContext(TraceParent, "rojo=1"));
        malformed.Trace.Should().BeNull("a malformed traceparent is ignored, never a reason to refuse the command");
        plain.Trace.Should().BeNull();
        traced.Fingerprint.Should().Equal(plain.Fingerprint, "a resend in another trace is the same command");
    }

    [Test]
    public void The_consumer_s_span_is_a_child_of_the_sender_s()
    {
        using (var span = CommandTelemetry.StartProcess(TraceContext.Parse(TraceParent, "rojo=1"), "c-1", CommandTypes.AllocateOrder, 1))
        {
            span.Should().NotBeNull();
            TraceContext.OfTracedCurrent().Should().Be(new TraceContext($"00-{TraceId}-{span!.SpanId}-01", "rojo=1"), "what the outbox keeps");
        }

        var process = Stopped().Should().ContainSingle().Subject;
        process.DisplayName.Should().Be("process allocation.commands");
        process.Kind.Should().Be(ActivityKind.Consumer);
        process.TraceId.ToHexString().Should().Be(TraceId);
        process.ParentSpanId.ToHexString().Should().Be(SenderSpan);
        process.TraceStateString.Should().Be("rojo=1");
        process.GetTagItem("messaging.message.id").Should().Be("c-1");
    }

    [Test]
    public void A_span_s_context_is_checked_like_a_received_one_an_oversized_tracestate_is_dropped()
    {
        using var span = new Activity("request").SetIdFormat(ActivityIdFormat.W3C);
        span.TraceStateString = "rojo=" + new string('a', TraceContext.MaxTraceStateLength);
        span.Start();

        var context = TraceContext.Of(span);

        context.Should().NotBeNull();
        context!.TraceParent.Should().Be(span.Id);
        context.TraceState.Should().BeNull("a client's tracestate over 512 characters is not stored with the events");
    }

    [Test]
    public void Without_a_valid_context_the_consumer_s_span_starts_a_trace_of_its_own()
    {
        ActivityTraceId outerTrace;
        using (var outer = new Activity("not the sender").Start())
        {
            outerTrace = outer.TraceId;
            using var span = CommandTelemetry.StartProcess(TraceContext.Parse("00-nonsense", null), "c-2", CommandTypes.AllocateOrder, 1);
        }

        var process = Stopped().Should().ContainSingle().Subject;
        process.ParentSpanId.Should().Be(default(ActivitySpanId));
        process.TraceId.Should().NotBe(outerTrace, "not whatever span happened to be current either");
    }

    [Test]
    public void A_message_continues_the_trace_its_event_was_written_in_and_the_publish_span_links_to_it()
    {
        var written = new OutboxEvent(1, Guid.NewGuid(), "allocation.order.allocated", "LAMP", 1, DateTime.UtcNow, "{}", TraceParent, "rojo=1");
        var untraced = new OutboxEvent(2, Guid.NewGuid(), "allocation.line.allocated", "LAMP", 2, DateTime.UtcNow, "{}");
        using var publish = RelayTelemetry.StartPublish(2, [written.Writer!]);

        var headers = AmqpEventPublisher.Properties(written, publish).Headers!;

        headers["traceparent"].Should().Be(TraceParent);
        headers["tracestate"].Should().Be("rojo=1");
        AmqpEventPublisher.Properties(untraced, publish).Headers!["traceparent"]
            .Should().Be($"00-{publish!.TraceId}-{publish.SpanId}-01", "an event written outside a trace is carried in the publish's");
        publish.Links.Select(l => l.Context.TraceId.ToHexString()).Should().Equal(TraceId);
    }

    [Test]
    public void A_stored_context_that_cannot_be_read_is_not_carried()
    {
        var damaged = new OutboxEvent(1, Guid.NewGuid(), "allocation.order.allocated", "LAMP", 1, DateTime.UtcNow, "{}", "not a traceparent");

        AmqpEventPublisher.Properties(damaged).Headers!.Should().NotContainKey("traceparent");
    }

    private List<Activity> Stopped()
    {
        lock (_spans)
        {
            return _spans.Where(s => s.Source.Name == CommandTelemetry.Name).ToList();
        }
    }

    private static byte[] Envelope(string extensions) => Encoding.UTF8.GetBytes(
        """{"specversion":"1.0","id":"c-1","source":"/shop","type":"allocation.order.allocate","time":"2026-12-07T05:00:00Z","data":{"orderid":"o1","lines":[{"sku":"LAMP","qty":1}]}"""
        + extensions + "}");
}
