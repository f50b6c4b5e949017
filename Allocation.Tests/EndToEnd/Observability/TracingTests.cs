using System.Diagnostics;
using System.Net;
using Allocation.Tests.Support;
using Microsoft.AspNetCore.TestHost;
using OpenTelemetry.Trace;

namespace Allocation.Tests.EndToEnd.Observability;

/// <summary>
/// The spans of an allocate, caught by an in-memory exporter added to the service's own tracer
/// provider. ActivitySources are process-wide and other fixtures' APIs run in this process too,
/// so only the spans of this test's own trace (its traceparent) are looked at.
/// </summary>
public class TracingTests
{
    private readonly ActivityLog _exported = new();
    private ApiFactory _api = null!;
    private WebApplicationFactoryClient _client = null!;

    [OneTimeSetUp]
    public async Task StartTheApiWithAnInMemoryExporter()
    {
        var database = await TestDatabase.SharedAsync();
        _api = new ApiFactory(database.ConnectionString, new Dictionary<string, string?> { ["Telemetry:Tracing"] = "true" });
        _client = new WebApplicationFactoryClient(_api.WithWebHostBuilder(host => host.ConfigureTestServices(services =>
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_exported)))));
    }

    [OneTimeTearDown]
    public async Task StopIt()
    {
        await _client.DisposeAsync();
        await _api.DisposeAsync();
    }

    [Test]
    public async Task An_allocate_is_one_trace_with_the_database_spans_under_the_http_span()
    {
        var sku = Unique.Sku("trace");
        await _client.Http.AddBatchAsync(Unique.BatchRef(), sku, 5);
        var (traceId, callerSpan) = (ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/allocate")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { orderid = Unique.OrderId(), sku, qty = 1 }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");

        using var response = await _client.Http.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.Created);

        // The server span ends just after the response is written.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!_exported.Of(traceId).Any(s => s.Kind == ActivityKind.Server) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var spans = _exported.Of(traceId);
        var server = spans.Should().ContainSingle(s => s.Kind == ActivityKind.Server).Subject;
        server.ParentSpanId.Should().Be(callerSpan, "the caller's traceparent is the HTTP span's parent");
        server.GetTagItem("http.route").Should().Be("allocate");
        var database = spans.Where(s => s.Source.Name == "Npgsql").ToList();
        database.Should().NotBeEmpty("the allocate reads and writes the database");
        database.Should().OnlyContain(s => DescendsFrom(s, server, spans));
    }

    private static bool DescendsFrom(Activity span, Activity ancestor, IReadOnlyList<Activity> trace)
    {
        for (var parent = span.ParentSpanId; parent != default;)
        {
            if (parent == ancestor.SpanId)
            {
                return true;
            }

            parent = trace.FirstOrDefault(s => s.SpanId == parent)?.ParentSpanId ?? default;
        }

        return false;
    }

    /// <summary>The exporter adds from the threads that end spans while the test reads.</summary>
    private sealed class ActivityLog : ICollection<Activity>
    {
        private readonly List<Activity> _spans = [];

        public int Count
        {
            get
            {
                lock (_spans)
                {
                    return _spans.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<Activity> Of(ActivityTraceId traceId)
        {
            lock (_spans)
            {
                return _spans.Where(s => s.TraceId == traceId).ToList();
            }
        }

        public void Add(Activity item)
        {
            lock (_spans)
            {
                _spans.Add(item);
            }
        }

        public void Clear()
        {
            lock (_spans)
            {
                _spans.Clear();
            }
        }

        public bool Contains(Activity item)
        {
            lock (_spans)
            {
                return _spans.Contains(item);
            }
        }

        public void CopyTo(Activity[] array, int arrayIndex)
        {
            lock (_spans)
            {
                _spans.CopyTo(array, arrayIndex);
            }
        }

        public bool Remove(Activity item)
        {
            lock (_spans)
            {
                return _spans.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator()
        {
            lock (_spans)
            {
                return _spans.ToList().GetEnumerator();
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>The derived factory and its client, disposed together.</summary>
    private sealed class WebApplicationFactoryClient(Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> factory) : IAsyncDisposable
    {
        public HttpClient Http { get; } = factory.CreateClient();

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await factory.DisposeAsync();
        }
    }
}
