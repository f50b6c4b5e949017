using System.Diagnostics;
using Allocation.Infrastructure.Messaging;
using Allocation.Infrastructure.Outbox;

namespace Allocation.Tests.Unit;

/// <summary>The W3C trace context each published message carries, so that a consumer's span joins the publish's trace.</summary>
public class RelayTraceContextTests
{
    private static readonly OutboxEvent Event = new(
        1, Guid.NewGuid(), "allocation.line.allocated", "LAMP", 1, DateTime.UtcNow, """{"orderid":"o1"}""");

    [Test]
    public void A_message_published_in_a_span_carries_its_traceparent_and_tracestate()
    {
        using var span = new Activity("publish allocation.events");
        span.SetIdFormat(ActivityIdFormat.W3C);
        span.TraceStateString = "vendor=value";
        span.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        span.Start();

        var headers = AmqpEventPublisher.Properties(Event, span).Headers!;

        headers["traceparent"].Should().Be($"00-{span.TraceId}-{span.SpanId}-01");
        headers["tracestate"].Should().Be("vendor=value");
        headers.Should().ContainKey("cloudEvents:id", "the trace context comes in addition to the CloudEvents headers");
    }

    [Test]
    public void Without_a_span_a_message_carries_no_trace_context()
    {
        var headers = AmqpEventPublisher.Properties(Event).Headers!;

        headers.Should().NotContainKey("traceparent").And.NotContainKey("tracestate");
    }
}
