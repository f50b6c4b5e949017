using System.Collections.Concurrent;
using Allocation.Tests.Support;
using FluentAssertions.Execution;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// Issue 7, row 6: the database hangs (SIGSTOP) for longer than the request deadline while 150
/// requests are in flight. Every answer still comes within the deadline, as a 2xx or a 503/504
/// problem; liveness answers at once throughout (an orchestrator must not restart instances that
/// are waiting out the database); after SIGCONT the service recovers by itself, and the database
/// holds every 201. Run twice: as shipped, and with the opt-in inline I/O scheduling (README,
/// Configuration, "Performance settings"), where request code runs on the socket threads that
/// every connection shares, so that anything blocking there (the driver cancelling a timed-out
/// statement) would show as a stalled liveness probe.
/// </summary>
[TestFixture(false)]
[TestFixture(true)]
public class HungDatabaseTests(bool inlineIo) : FaultFixture
{
    private const int InFlight = 150;
    private static readonly TimeSpan Freeze = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(2);

    protected override IReadOnlyDictionary<string, string>? Settings => inlineIo ? InlineIo.Settings : null;

    /// <summary>Sessions already open keep working; new connections cannot start.</summary>
    [Test]
    public Task While_the_postmaster_is_stopped_every_answer_comes_within_the_deadline_and_the_service_recovers() =>
        HangAsync(everyProcess: false);

    /// <summary>Nothing answers at all: the postmaster and every backend are stopped.</summary>
    [Test]
    public Task While_every_server_process_is_stopped_every_answer_comes_within_the_deadline_and_the_service_recovers() =>
        HangAsync(everyProcess: true);

    private async Task HangAsync(bool everyProcess)
    {
        // Not vacuous: the instance says at start-up which mode it runs in.
        Api.CountOutputLines($"Kestrel inline {inlineIo}, socket completions inline {inlineIo}").Should().Be(
            inlineIo ? 1 : 0, "the instance runs with inline I/O {0}", inlineIo ? "on" : "off");

        var what = (everyProcess ? "every server process stopped" : "postmaster stopped") + (inlineIo ? ", inline I/O" : "");
        // One SKU per client: nothing contends, so any answer but a 2xx comes from the hang.
        var skus = Enumerable.Range(0, InFlight).Select(i => Unique.Sku($"hang{i}")).ToArray();
        var known = new (string BatchRef, string OrderId)[InFlight];
        var answers = new ConcurrentQueue<Answer>();
        await Parallel.ForEachAsync(Enumerable.Range(0, InFlight), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var batchRef = await AddStockAsync(skus[i], 1_000_000);
            var orderId = Unique.OrderId("known");
            var setup = await Ask.AllocateAsync(Api.Client, orderId, skus[i], phase: "setup");
            setup.Status.Should().Be(201, setup.ToString());
            answers.Enqueue(setup);
            known[i] = (batchRef, orderId);
        });

        var phase = "before";
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, InFlight).Select(worker => Task.Run(async () =>
        {
            for (var n = worker; !stop.IsCancellationRequested; n++)
            {
                var current = Volatile.Read(ref phase);
                var answer = (n % 4) switch
                {
                    0 or 1 => await Ask.AllocateAsync(Api.Client, Unique.OrderId(), skus[worker], phase: current),
                    2 => await Ask.GetAsync(Api.Client, $"/allocations/{known[worker].OrderId}", current),
                    _ => await Ask.GetAsync(Api.Client, $"/batches/{known[worker].BatchRef}", current),
                };
                answers.Enqueue(answer);
            }
        })).ToArray();
        var liveness = new ConcurrentQueue<Answer>();
        // A new connection per probe: connections are spread over the socket threads, so a probe
        // cannot keep landing on one that happens not to be blocked.
        using var prober = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { BaseAddress = Api.BaseAddress };
        var probe = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                liveness.Enqueue(await Ask.GetAsync(prober, "/health/live", Volatile.Read(ref phase)));
                await Task.Delay(200);
            }
        });

        try
        {
            await WaitUntilAsync(() => answers.Count(a => a.Phase == "before" && a.IsSuccess) >= 300, "traffic flowing before the hang", TimeSpan.FromSeconds(30));
            Volatile.Write(ref phase, "hung");
            try
            {
                await Cluster.SuspendAsync(everyProcess);
                TestContext.Progress.WriteLine($"hung database ({what}): SIGSTOP done at {DateTime.UtcNow:HH:mm:ss.fff}");
                await Task.Delay(Freeze);
            }
            finally
            {
                await Cluster.ResumeAsync();
                TestContext.Progress.WriteLine($"hung database ({what}): SIGCONT done at {DateTime.UtcNow:HH:mm:ss.fff}");
            }

            Volatile.Write(ref phase, "after");
            await WaitUntilAsync(() => answers.Count(a => a.Phase == "after" && a.Status == 201) >= 50, "recovery after SIGCONT", TimeSpan.FromSeconds(30));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(workers);
            await probe;
        }

        TestContext.Progress.WriteLine($"hung database ({what}): liveness while hung: {Answer.Summary(liveness.Where(a => a.Phase == "hung"))}");

        foreach (var group in answers.Where(a => a.Phase != "setup").GroupBy(a => a.Phase))
        {
            TestContext.Progress.WriteLine($"hung database ({what}, {Freeze.TotalSeconds:0} s, {InFlight} in flight), started {group.Key}: {Answer.Summary(group)}");
        }

        // Every check reports, so a late answer does not hide what the database holds.
        using var all = new AssertionScope();
        answers.Where(a => !InTime(a)).Select(a => a.ToString()).Should().BeEmpty(
            "every answer comes within the {0} s request deadline (+{1} s slack), not when the server wakes up",
            RequestDeadline.TotalSeconds, DeadlineSlack.TotalSeconds);
        answers.Where(a => !(a.IsSuccess || a.IsUnavailable || a.IsTimeout)).Select(a => a.ToString()).Should().BeEmpty(
            "a hung database is a 503 (Retry-After: 5) or 504 problem, never a 500");
        liveness.Where(a => a.Phase == "hung").Should().NotBeEmpty();
        liveness.Where(a => a.Status != 200 || a.Seconds >= Prompt.TotalSeconds).Select(a => a.ToString()).Should().BeEmpty(
            "liveness runs no check and answers within {0} s whatever the database does", Prompt.TotalSeconds);
        var health = await Ask.GetAsync(Api.Client, "/health");
        health.Status.Should().Be(200, "the service recovered without a restart: {0}", health);
        Api.HasExited.Should().BeFalse();

        Database.DataSource.Clear();
        await Ledger.ShouldBeConsistentAsync(Store, skus);
        var ambiguousCommitted = await Ledger.ShouldHoldExactlyTheConfirmedAllocationsAsync(Store, skus, answers.Where(a => a.Action == "/allocate"));
        TestContext.Progress.WriteLine($"hung database ({what}): {ambiguousCommitted} allocations answered 5xx were committed nonetheless");
    }
}
