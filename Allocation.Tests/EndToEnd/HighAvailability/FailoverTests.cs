using System.Text.RegularExpressions;
using Allocation.Tests.EndToEnd.ProductionFaults;
using Allocation.Tests.Support;
using FluentAssertions.Execution;
using NUnit.Framework.Interfaces;

namespace Allocation.Tests.EndToEnd.HighAvailability;

/// <summary>
/// Issue 17: the service on a real pg_auto_failover formation (a monitor, a primary and its
/// synchronous standby, every setting at its default), two API instances on the formation's
/// multi-host connection string, 16 clients allocating steadily, a reader of allocations and one of
/// the event feed, while the formation switches over, loses its primary's server or its whole
/// primary, gets a node back, or loses its standby. One formation for all of them, in order: each
/// test starts from a healthy primary and secondary (a node a test left stopped rejoins first).
/// </summary>
[NonParallelizable]
public sealed partial class FailoverTests
{
    private static readonly TimeSpan RequestDeadline = FaultFixture.RequestDeadline;

    private static readonly TimeSpan DeadlineSlack = FaultFixture.DeadlineSlack;

    /// <summary>How soon after writes resume (a direct write to the formation succeeds) the service answers 2xx again.</summary>
    private static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(2);

    private readonly Dictionary<ApiProcess, int> _outputBefore = [];
    private PrivateFormation? _formation;
    private TestDatabase? _database;
    private Store? _store;
    private List<ApiProcess> _instances = [];
    private string? _cursor;

    private PrivateFormation Formation => _formation ?? throw new InvalidOperationException("The fixture did not start.");

    private TestDatabase Database => _database ?? throw new InvalidOperationException("The fixture did not start.");

    private Store Store => _store ?? throw new InvalidOperationException("The fixture did not start.");

    /// <summary>The direct writer's connection: the formation's hosts, the writable one, found anew on every connection.</summary>
    private string ProbeConnectionString =>
        Formation.ConnectionString(Database.Name) + ";Host Recheck Seconds=0;Pooling=false;Timeout=2;Command Timeout=5";

    [OneTimeSetUp]
    public async Task StartFormationAndInstances()
    {
        _formation = await PrivateFormation.StartAsync();
        _database = await TestDatabase.CreateOnFormationAsync(_formation);
        _store = new Store(_database);
        await using (var connection = await Store.OpenAsync())
        await using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE ha_probe (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())";
            await create.ExecuteNonQueryAsync();
        }

        _instances = [.. await ApiProcess.StartManyAsync(2, _database.ServiceConnectionString)];
    }

    [SetUp]
    public async Task StartFromAHealthyFormation()
    {
        foreach (var node in Formation.Nodes.Where(n => !n.IsRunning))
        {
            await Formation.StartNodeAgainAsync(node);
        }

        await Formation.WaitUntilHealthyAsync(PrivateFormation.SettleLimit);
        for (var i = 0; i < _instances.Count; i++)
        {
            if (_instances[i].HasExited)
            {
                // An earlier test failed on this; the next ones start from two running instances.
                TestContext.Progress.WriteLine($"API instance {i} had exited with {_instances[i].ExitCode}: starting it again");
                await _instances[i].DisposeAsync();
                _instances[i] = await ApiProcess.StartAsync(Database.ServiceConnectionString);
            }

            await _instances[i].WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        }

        // Whatever an earlier test left behind in the instances is over before this one's load starts
        // (that test's own assertions cover its aftermath).
        var sku = Unique.Sku("warm-up");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var batch = await Ask.AddBatchAsync(_instances[0].Client, Unique.BatchRef(), sku, 1000);
            var allocations = await Task.WhenAll(_instances.Select(i => Ask.AllocateAsync(i.Client, Unique.OrderId(), sku)));
            if (batch.Status == 201 && allocations.All(a => a.Status == 201))
            {
                break;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The instances do not take writes on a healthy formation: {batch}; {string.Join("; ", allocations.Select(a => a.ToString()))}");
            }

            await Task.Delay(500);
        }

        foreach (var instance in _instances)
        {
            _outputBefore[instance] = instance.Output.Split('\n').Length;
        }

        Database.DataSource.Clear();
    }

    [TearDown]
    public async Task ShowWhatTheServiceAndTheFormationSaid()
    {
        // Always: which errors the service logged during a failover is part of what these tests report.
        foreach (var (instance, i) in _instances.Select((instance, i) => (instance, i)))
        {
            var lines = instance.Output.Split('\n').Skip(_outputBefore.GetValueOrDefault(instance));
            // Production's appsettings put a timestamp before the level: "2026-01-01T00:00:00.000Z fail: …".
            var kinds = lines
                .Select(line => LogLevelAndMessage().Match(line))
                .Where(match => match.Success)
                .Select(match => Kind(match.Value))
                .GroupBy(line => line)
                .OrderByDescending(g => g.Count())
                .Select(g => $"{g.Count()} × {g.Key}")
                .ToList();
            TestContext.Progress.WriteLine($"--- API instance {i}{(instance.HasExited ? $" (EXITED with {instance.ExitCode})" : "")}: {kinds.Count} kinds of warnings and errors");
            TestContext.Progress.WriteLine(string.Join('\n', kinds.Take(12)));
        }

        if (TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed)
        {
            TestContext.Progress.WriteLine(await Formation.DescribeAsync());
        }
    }

    [OneTimeTearDown]
    public async Task StopEverything()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DataSource.DisposeAsync();
        }

        if (_formation is not null)
        {
            await _formation.DisposeAsync();
        }
    }

    [Test]
    [Order(1)]
    public async Task A_planned_switchover_is_invisible_to_callers()
    {
        var (load, skus) = await StartLoadAsync();
        var oldPrimary = await Formation.PrimaryAsync();
        var faultAt = await InjectAsync(load, "switchover", Formation.SwitchoverAsync);
        await Formation.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        var newPrimary = await Formation.PrimaryAsync();
        var switchedAt = DateTime.UtcNow;
        await RunOnAfterAsync(load, switchedAt);
        Report(load, faultAt, $"switched over from {oldPrimary} to {newPrimary}, done at +{(switchedAt - faultAt).TotalSeconds:F1} s", load.WritesResumedAfter(faultAt));

        using (new AssertionScope())
        {
            newPrimary.Should().NotBe(oldPrimary, "the switchover happened");
            load.Writes.Where(a => !(a.IsSuccess || a.IsOutOfStock)).Select(a => a.ToString()).ShouldBeNone("a planned switchover is invisible: every allocation is answered 201 (or 400 out of stock), never 409, 5xx or no answer");
            load.Reads.Where(a => a.Status != 200).Select(a => a.ToString()).ShouldBeNone("reads of confirmed allocations and of the event feed answer 200 throughout");
            TooSlow(load).ShouldBeNone("no request waits past the deadline");
            await EverythingConfirmedIsStoredAndPublishedAsync(load, skus);
            InstancesShouldBeRunning();
        }
    }

    [Test]
    [Order(2)]
    public async Task When_the_primary_server_crashes_and_its_keeper_restarts_it_nothing_confirmed_is_lost_and_writes_recover_at_once()
    {
        var (load, skus) = await StartLoadAsync();
        var primary = await Formation.PrimaryAsync();
        var faultAt = await InjectAsync(load, "postmaster killed", () => Formation.KillPostmasterAsync(primary));
        var resumedAt = await WaitForWritesToResumeAsync(load, faultAt, TimeSpan.FromSeconds(90));
        await RunOnAfterAsync(load, resumedAt);
        Report(load, faultAt, $"kill -9 of {primary}'s postmaster", resumedAt);

        await UnplannedFailoverShouldBeSurvivedAsync(load, skus, faultAt, resumedAt);
    }

    [Test]
    [Order(3)]
    public async Task When_the_primary_is_lost_the_standby_takes_over_without_losing_a_confirmed_allocation_or_an_instance()
    {
        var (load, skus) = await StartLoadAsync();
        var primary = await Formation.PrimaryAsync();
        var faultAt = await InjectAsync(load, "primary lost", () => Formation.KillKeeperAndPostmasterAsync(primary));
        // pg_auto_failover's defaults: unhealthy after 20 s, then 30 s for the lost primary to demote itself.
        var resumedAt = await WaitForWritesToResumeAsync(load, faultAt, TimeSpan.FromSeconds(120));
        await RunOnAfterAsync(load, resumedAt);
        var newPrimary = await Formation.PrimaryAsync();
        Report(load, faultAt, $"kill -9 of {primary}'s keeper and postmaster; {newPrimary} took over", resumedAt);

        newPrimary.Should().NotBe(primary, "the standby was promoted");
        await UnplannedFailoverShouldBeSurvivedAsync(load, skus, faultAt, resumedAt);
    }

    [Test]
    [Order(4)]
    public async Task A_node_that_rejoins_is_invisible_to_callers()
    {
        // The node the last test lost, or else the standby, stopped before the load starts.
        var stopped = Formation.Nodes.FirstOrDefault(n => !n.IsRunning) ?? await Formation.StopStandbyAsync();
        await Formation.WaitForStateAsync(s => s.Any(n => n.Is("wait_primary")), "the primary alone (wait_primary)", TimeSpan.FromSeconds(90));
        var (load, skus) = await StartLoadAsync();
        var faultAt = await InjectAsync(load, "rejoin", () => Formation.StartNodeAgainAsync(stopped));
        await Formation.WaitUntilHealthyAsync(PrivateFormation.SettleLimit);
        var rejoinedAt = DateTime.UtcNow;
        await RunOnAfterAsync(load, rejoinedAt);
        Report(load, faultAt, $"{stopped} started again, a healthy secondary at +{(rejoinedAt - faultAt).TotalSeconds:F1} s");

        using (new AssertionScope())
        {
            load.Writes.Where(a => !(a.IsSuccess || a.IsOutOfStock)).Select(a => a.ToString()).ShouldBeNone("a node rejoining is invisible: every allocation is answered 201");
            load.Reads.Where(a => a.Status != 200).Select(a => a.ToString()).ShouldBeNone("reads answer 200 throughout");
            TooSlow(load).ShouldBeNone("no request waits past the deadline");
            await EverythingConfirmedIsStoredAndPublishedAsync(load, skus);
            InstancesShouldBeRunning();
        }
    }

    [Test]
    [Order(5)]
    public async Task When_the_standby_is_lost_writes_go_on_once_replication_is_no_longer_synchronous()
    {
        var (load, skus) = await StartLoadAsync();
        var standby = await Formation.StandbyAsync();
        var faultAt = await InjectAsync(load, "standby lost", () => Formation.KillKeeperAndPostmasterAsync(standby));
        await Formation.WaitForStateAsync(s => s.Any(n => n.Assigned == "wait_primary"), "the primary told to go on alone (wait_primary)", TimeSpan.FromSeconds(90));
        var aloneAt = DateTime.UtcNow;
        var resumedAt = await WaitForWritesToResumeAsync(load, faultAt, TimeSpan.FromSeconds(60));
        await RunOnAfterAsync(load, resumedAt);
        Report(load, faultAt, $"kill -9 of {standby}'s keeper and postmaster; primary assigned wait_primary (synchronous replication dropped) by +{(aloneAt - faultAt).TotalSeconds:F1} s", resumedAt);

        using (new AssertionScope())
        {
            FailedBefore(load, faultAt).ShouldBeNone("with a writable primary and its standby every request is answered 2xx");
            Unexpected(load).ShouldBeNone("while writes stall an answer is 201, 503 with Retry-After or 504, never a 500 or no answer");
            TooSlow(load).ShouldBeNone("no request waits past the deadline");
            load.Writes.Where(a => a.Status == 201 && a.Started > aloneAt).Should().NotBeEmpty("writes go on without the standby");
            load.Writes.Where(a => a.Status == 201 && a.Started > faultAt.AddSeconds(0.5) && a.Started + TimeSpan.FromSeconds(a.Seconds) < aloneAt.AddSeconds(-0.5))
                .Select(a => a.ToString()).ShouldBeNone(
                    "while the formation is still synchronous a 201 means the standby has the commit too: with the standby gone no " +
                    "commit can be confirmed until pg_auto_failover drops synchronous replication (a COMMIT whose wait for the standby " +
                    "was cancelled is committed only locally, and must not be answered 201)");
            await EverythingConfirmedIsStoredAndPublishedAsync(load, skus);
            InstancesShouldBeRunning();
        }
    }

    /// <summary>Seeds four SKUs with plenty of stock through the API and starts the load on them.</summary>
    private async Task<(FormationLoad Load, string[] Skus)> StartLoadAsync()
    {
        // The feed reader goes on from where the last one stopped (the database is the fixture's own: the first starts at the beginning).
        var skus = Enumerable.Range(0, 4).Select(_ => Unique.Sku("ha")).ToArray();
        foreach (var sku in skus)
        {
            var answer = await Ask.AddBatchAsync(_instances[0].Client, Unique.BatchRef(), sku, 1_000_000);
            answer.Status.Should().Be(201, answer.ToString());
        }

        var load = FormationLoad.Start(_instances, skus, Formation, ProbeConnectionString, _cursor);
        await load.WaitForConfirmedAsync(200, TimeSpan.FromSeconds(30));
        return (load, skus);
    }

    private static async Task<DateTime> InjectAsync(FormationLoad load, string phase, Func<Task> fault)
    {
        load.Phase = phase;
        var at = DateTime.UtcNow;
        await fault();
        return at;
    }

    private static async Task<DateTime> WaitForWritesToResumeAsync(FormationLoad load, DateTime faultAt, TimeSpan limit)
    {
        var deadline = faultAt + limit;
        while (true)
        {
            // At least a second after the fault, so that the direct writer has met it.
            if (DateTime.UtcNow > faultAt.AddSeconds(1) && load.WritesResumedAfter(faultAt) is { } resumed)
            {
                return resumed;
            }

            if (DateTime.UtcNow > deadline)
            {
                await load.StopAsync();
                Assert.Fail($"Direct writes to the formation did not resume within {limit.TotalSeconds:0} s of the fault.");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Keeps the load on until well past the recovery limit after writes resumed, and until 200 more
    /// allocations were confirmed (30 s at most: the assertions say what went wrong, not this wait).
    /// </summary>
    private async Task RunOnAfterAsync(FormationLoad load, DateTime resumedAt)
    {
        load.Phase = "after";
        var until = resumedAt + RecoveryLimit + TimeSpan.FromSeconds(5);
        if (until > DateTime.UtcNow)
        {
            await Task.Delay(until - DateTime.UtcNow);
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (load.Writes.Count(a => a.Phase == "after" && a.Status == 201) < 200 && DateTime.UtcNow < deadline && _instances.Any(i => !i.HasExited))
        {
            await Task.Delay(100);
        }

        await load.StopAsync();
        _cursor = load.Cursor;
    }

    /// <summary>The targets of an unplanned failover (issue 17, section 3).</summary>
    private async Task UnplannedFailoverShouldBeSurvivedAsync(FormationLoad load, string[] skus, DateTime faultAt, DateTime resumedAt)
    {
        using (new AssertionScope())
        {
            FailedBefore(load, faultAt).ShouldBeNone("with a writable primary every request is answered 2xx");
            Unexpected(load).ShouldBeNone("without a writable primary an answer is 503 with Retry-After or 504, never a 500 or no answer");
            TooSlow(load).ShouldBeNone("no request waits past the deadline");
            load.Writes.Concat(load.Reads).Where(a => !a.IsSuccess && a.Started > resumedAt + RecoveryLimit).Select(a => a.ToString()).ShouldBeNone($"within {RecoveryLimit.TotalSeconds:0} s of writes resuming (at {resumedAt:HH:mm:ss.fff}) every request is answered 2xx again");
            await EverythingConfirmedIsStoredAndPublishedAsync(load, skus);
            InstancesShouldBeRunning();
        }
    }

    /// <summary>
    /// Every 201 is on the primary of the moment (nothing confirmed was lost with the old one), the
    /// stock adds up, and the feed reader saw the event of every 201 exactly once, each SKU's events
    /// numbered without a gap.
    /// </summary>
    private async Task EverythingConfirmedIsStoredAndPublishedAsync(FormationLoad load, string[] skus)
    {
        await load.StopAsync();
        _cursor = load.Cursor;
        Database.DataSource.Clear();
        var committedUnanswered = await Ledger.ShouldHoldExactlyTheConfirmedAllocationsAsync(Store, skus, load.Writes);
        await Ledger.ShouldBeConsistentAsync(Store, skus);

        var events = load.Events;
        events.Select(e => e.GetProperty("id").GetString()).Should().OnlyHaveUniqueItems("the feed reader sees each event once");
        foreach (var sku in skus)
        {
            var sequence = events.Where(e => e.GetProperty("subject").GetString() == sku).Select(e => e.GetProperty("skusequence").GetInt64()).Order().ToList();
            sequence.Should().Equal(Enumerable.Range(1, sequence.Count).Select(n => (long)n), $"{sku}'s events are numbered 1, 2, 3, … without gaps");
        }

        var allocatedOrders = events.Where(FormationLoad.IsAllocated).Select(FormationLoad.OrderIdOf).ToList();
        var confirmed = load.Writes.Where(a => a.Status == 201).Select(a => a.Key).ToList();
        confirmed.Except(allocatedOrders).Should().BeEmpty("the feed has the event of every 201");
        allocatedOrders.GroupBy(o => o).Where(g => g.Count() > 1).Select(g => g.Key).Should().BeEmpty("an allocation's event is served once");
        var ambiguous = load.Writes.Where(a => a.IsAmbiguous).Select(a => a.Key).ToHashSet(StringComparer.Ordinal);
        allocatedOrders.Except(confirmed).Where(o => !ambiguous.Contains(o)).Should().BeEmpty("no event for an allocation that was refused");
        TestContext.Progress.WriteLine($"stored: {confirmed.Count} confirmed allocations, all on the primary; {committedUnanswered} committed without a 201 (answered 5xx or not at all); feed: {events.Count} events");
    }

    /// <summary>Answers other than 2xx, 400 out of stock, 503 with Retry-After and 504: 500s, other problems, no answer.</summary>
    private static List<string> Unexpected(FormationLoad load) =>
        [.. load.Writes.Where(a => !(a.IsSuccess || a.IsOutOfStock || a.IsUnavailable || a.IsTimeout))
            .Concat(load.Reads.Where(a => !(a.IsSuccess || a.IsUnavailable || a.IsTimeout)))
            .Select(a => a.ToString())];

    /// <summary>Answers other than 2xx (and 400 out of stock) that arrived before the fault was injected.</summary>
    private static List<string> FailedBefore(FormationLoad load, DateTime faultAt) =>
        [.. load.Writes.Concat(load.Reads).Where(a => !a.IsSuccess && !a.IsOutOfStock && a.Started + TimeSpan.FromSeconds(a.Seconds) < faultAt).Select(a => a.ToString())];

    private static List<string> TooSlow(FormationLoad load) =>
        [.. load.Writes.Concat(load.Reads).Where(a => a.Seconds > (RequestDeadline + DeadlineSlack).TotalSeconds).Select(a => a.ToString())];

    private void InstancesShouldBeRunning() =>
        _instances.Select((instance, i) => (instance, i)).Where(x => x.instance.HasExited)
            .Select(x => $"instance {x.i} exited with {x.instance.ExitCode}").Should().BeEmpty("no API instance exits during a failover");

    /// <summary>What happened, in seconds from the fault: for the test log and docs/ha-measurements.md.</summary>
    private static void Report(FormationLoad load, DateTime faultAt, string what, DateTime? resumedAt = null)
    {
        string At(DateTime t) => $"{(t - faultAt).TotalSeconds:+0.0;-0.0} s";
        var lines = new List<string> { $"=== {what} (fault at {faultAt:HH:mm:ss.fff})" };
        foreach (var phase in load.Writes.Select(a => a.Phase).Distinct())
        {
            lines.Add($"allocations [{phase}]: {Answer.Summary(load.Writes.Where(a => a.Phase == phase))}");
        }

        foreach (var phase in load.Reads.Select(a => a.Phase).Distinct())
        {
            lines.Add($"reads [{phase}]: {Answer.Summary(load.Reads.Where(a => a.Phase == phase))}");
        }

        var failures = load.Writes.Concat(load.Reads).Where(a => !a.IsSuccess && !a.IsOutOfStock).ToList();
        if (failures.Count > 0)
        {
            lines.Add($"non-2xx from {At(failures.Min(a => a.Started))} to {At(failures.Max(a => a.Started + TimeSpan.FromSeconds(a.Seconds)))} (sent to answered)");
            lines.AddRange(failures.GroupBy(a => a.Outcome + " " + Ids().Replace(a.Body.Length > 200 ? a.Body[..200] : a.Body, "…"))
                .OrderByDescending(g => g.Count()).Take(6).Select(g => $"  {g.Count()} × {g.Key}"));
        }

        var slow201 = load.Writes.Where(a => a.Status == 201 && a.Seconds > 4).ToList();
        if (slow201.Count > 0)
        {
            lines.Add($"201s slower than 4 s: {slow201.Count}, answered from {At(slow201.Min(a => a.Started + TimeSpan.FromSeconds(a.Seconds)))} to {At(slow201.Max(a => a.Started + TimeSpan.FromSeconds(a.Seconds)))}");
        }

        if (load.Writes.Concat(load.Reads).Where(a => a.Status == 0).Select(a => a.Started + TimeSpan.FromSeconds(a.Seconds)).DefaultIfEmpty().Min() is var unanswered
            && unanswered != default)
        {
            lines.Add($"first request without an answer (connection refused or reset) at {At(unanswered)}");
        }

        var probe = load.Probe.Where(p => p.Started >= faultAt).ToList();
        var probeFailures = probe.Where(p => !p.Succeeded).ToList();
        lines.Add(probeFailures.Count == 0
            ? "direct writes: never failed"
            : $"direct writes: failing from {At(probeFailures[0].Started)}, {probeFailures.Count} failed; resumed at {(resumedAt is { } r ? At(r) : "?")}");
        lines.AddRange(probeFailures.GroupBy(p => Ids().Replace(p.Error!, "…")).Select(g => $"  {g.Count()} × {g.Key}"));
        if (resumedAt is { } resumed)
        {
            var lastFailure = load.Writes.Where(a => !a.IsSuccess && !a.IsOutOfStock).Select(a => a.Started + TimeSpan.FromSeconds(a.Seconds)).DefaultIfEmpty().Max();
            var first201 = load.Writes.Where(a => a.Status == 201 && a.Started >= resumed).Select(a => a.Started + TimeSpan.FromSeconds(a.Seconds)).DefaultIfEmpty().Min();
            lines.Add($"service: last non-2xx allocation answered at {(lastFailure == default ? "-" : At(lastFailure))}, first 201 of a request sent after writes resumed at {(first201 == default ? "-" : At(first201))}");
        }

        lines.AddRange(load.Timeline.Select(t => $"  monitor {At(t.At)}: {t.State}"));
        TestContext.Progress.WriteLine(string.Join('\n', lines));
    }

    /// <summary>A log line without its request's scopes, ids and stack trace: alike lines counted once.</summary>
    private static string Kind(string line)
    {
        var stack = line.IndexOf("    at ", StringComparison.Ordinal);
        var text = RequestScopes().Replace(stack > 0 ? line[..stack] : line, "");
        text = Ids().Replace(text, "…");
        return text.Length > 400 ? text[..400] : text;
    }

    [GeneratedRegex(" => .*RequestId:\\S+")]
    private static partial Regex RequestScopes();

    [GeneratedRegex("(warn|fail|crit): .*")]
    private static partial Regex LogLevelAndMessage();

    [GeneratedRegex("[0-9a-f]{10,}|order-[-a-z]*[0-9a-f]+|sku-[-a-z]*[0-9a-f]+|batch-[-a-z]*[0-9a-f]+|:[0-9]{4,5}\\b|\\b[0-9]+(\\.[0-9]+)? ?(ms|s)\\b")]
    private static partial Regex Ids();
}

/// <summary>An empty list of failures, or a failure that says how many there were (and the first few).</summary>
internal static class FailureLists
{
    public static void ShouldBeNone(this IEnumerable<string> failures, string because)
    {
        var list = failures.ToList();
        if (list.Count > 0)
        {
            // Inside an AssertionScope this is collected with the test's other failures.
            Execute.Assertion.FailWith("Expected none, but found {0}: " + because.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal) + ". The first ones:\n{1}",
                list.Count, string.Join('\n', list.Take(3)));
        }
    }
}
