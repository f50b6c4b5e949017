using System.Reflection;
using Allocation.Application.Common;
using Allocation.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Allocation.Tests.Unit;

/// <summary>
/// One EventId names one log event, and each area numbers its events in a range of its own, so that a
/// log query or an alert on an EventId finds that event and no other. The ranges (a new area takes a
/// free one here):
/// <code>
/// 1000-1999  Application: write retries                    Application/Common
/// 2000-2999  Database start-up and persistence             Infrastructure, Infrastructure/Persistence
/// 3000-3099  Messaging: the relay to RabbitMQ              Infrastructure/Messaging
/// 3100-3999  Outbox: retention, backlog gauges, hold-back  Infrastructure/Outbox
/// 4000-4999  Hosting and operations                        Api/Operations
/// 5000-5999  Request errors                                Api/Errors
/// 6000-6999  Reserved: the RabbitMQ command consumer       Infrastructure/Messaging/Commands
/// 7000-7999  Security                                      Api/Security
/// </code>
/// </summary>
public class LogEventIdTests
{
    /// <summary>Namespace (most specific first) and its range.</summary>
    private static readonly (string Namespace, int First, int Last)[] Ranges =
    [
        ("Allocation.Application", 1000, 1999),
        ("Allocation.Infrastructure.Persistence", 2000, 2999),
        ("Allocation.Infrastructure.Messaging.Commands", 6000, 6999),
        ("Allocation.Infrastructure.Messaging", 3000, 3099),
        ("Allocation.Infrastructure.Outbox", 3100, 3999),
        ("Allocation.Infrastructure", 2000, 2999),
        ("Allocation.Api.Operations", 4000, 4999),
        ("Allocation.Api.Errors", 5000, 5999),
        ("Allocation.Api.Security", 7000, 7999),
    ];

    private static IEnumerable<(MethodInfo Method, int EventId)> LogEvents() =>
        new[] { typeof(ConflictRetry).Assembly, typeof(DependencyInjection).Assembly, typeof(Program).Assembly }
            .SelectMany(assembly => assembly.GetTypes())
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .Select(m => (m.Method, m.Attribute!.EventId));

    private static string Name(MethodInfo method) => $"{method.DeclaringType!.FullName}.{method.Name}";

    [Test]
    public void Every_log_event_has_an_event_id_of_its_own()
    {
        var events = LogEvents().ToList();

        events.Should().HaveCountGreaterThan(30, "the service's log events are all found");
        events.GroupBy(e => e.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => Name(e.Method)))}")
            .Should().BeEmpty();
    }

    [Test]
    public void Every_log_event_id_lies_in_its_areas_range()
    {
        var outside = LogEvents()
            .Select(e => (e.Method, e.EventId, Range: Ranges.FirstOrDefault(r =>
                e.Method.DeclaringType!.Namespace == r.Namespace || e.Method.DeclaringType.Namespace!.StartsWith(r.Namespace + ".", StringComparison.Ordinal))))
            .Where(e => e.Range.Namespace is null || e.EventId < e.Range.First || e.EventId > e.Range.Last)
            .Select(e => $"{Name(e.Method)}: {e.EventId} (area {e.Range.Namespace ?? "none"})");

        outside.Should().BeEmpty();
    }
}
