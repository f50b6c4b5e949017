using System.Diagnostics;
using Allocation.Infrastructure.Messaging;
using Allocation.Tests.Support;

namespace Allocation.Tests.Integration;

public partial class RelayTests
{
    [Test]
    public async Task A_published_batch_is_a_producer_span_whose_trace_context_every_message_carries()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Allocation.Relay",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = span =>
            {
                lock (spans)
                {
                    spans.Add(span);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var consumer = await EventConsumer.StartAsync(_broker.Uri);
        await RelayOutbox.InsertAsync(_database.DataSource, Unique.Sku(), 2);
        var relay = RelayOutbox.Relay(_database.DataSource, _broker.Uri);

        (await relay.PublishBatchAsync(CancellationToken.None)).Should().Be(2);

        await consumer.WaitUntilAsync(r => r.Count == 2, Limit, "two messages");
        Activity publish;
        lock (spans)
        {
            publish = spans.Should().ContainSingle().Subject;
        }

        publish.DisplayName.Should().Be("publish allocation.events");
        publish.Kind.Should().Be(ActivityKind.Producer);
        publish.GetTagItem("messaging.system").Should().Be("rabbitmq");
        publish.GetTagItem("messaging.batch.message_count").Should().Be(2);
        consumer.Received.Select(m => m.Headers["traceparent"])
            .Should().Equal(Enumerable.Repeat($"00-{publish.TraceId}-{publish.SpanId}-01", 2));
    }
}
