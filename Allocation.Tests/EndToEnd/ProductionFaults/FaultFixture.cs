using System.Net;
using System.Text.RegularExpressions;
using Allocation.Tests.Support;
using NUnit.Framework.Interfaces;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// A private, durable PostgreSQL cluster with default settings (max_connections 100) and API
/// processes on it started with the service's own connection defaults, as deployed. Each fixture
/// gets its own, so a fault done to one never reaches another test. Every fault fixture runs alone
/// (the attribute is inherited): its answers are held to deadlines that other work on the same
/// cores would push them past.
/// </summary>
[NonParallelizable]
public abstract partial class FaultFixture
{
    /// <summary>The service's request deadline (Limits:RequestTimeout).</summary>
    internal static readonly TimeSpan RequestDeadline = TimeSpan.FromSeconds(10);

    /// <summary>Scheduling and HTTP slack on a loaded 2-core machine, on top of the deadline.</summary>
    internal static readonly TimeSpan DeadlineSlack = TimeSpan.FromSeconds(2);

    private List<ApiProcess> _instances = [];
    private TestDatabase? _database;
    private Store? _store;

    protected TestDatabase Database => _database ?? throw new InvalidOperationException("The fixture did not start.");

    protected PrivatePostgres Cluster => Database.Cluster!;

    protected Store Store => _store ?? throw new InvalidOperationException("The fixture did not start.");

    protected IReadOnlyList<ApiProcess> Instances => _instances;

    protected ApiProcess Api => _instances[0];

    protected virtual int InstanceCount => 1;

    protected virtual IReadOnlyDictionary<string, string>? Settings => null;

    /// <summary>Answered within the deadline plus slack.</summary>
    private protected static bool InTime(Answer answer) => answer.Seconds <= (RequestDeadline + DeadlineSlack).TotalSeconds;

    [OneTimeSetUp]
    public async Task StartClusterAndInstances()
    {
        _database = await TestDatabase.CreateAsync(privateCluster: true);
        _store = new Store(_database);
        _instances = [.. await ApiProcess.StartManyAsync(InstanceCount, _database.ServiceConnectionString, Settings)];
    }

    [TearDown]
    public void ShowTheServiceLogWhenATestFailed()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status != TestStatus.Failed)
        {
            return;
        }

        foreach (var (instance, i) in _instances.Select((instance, i) => (instance, i)))
        {
            // Warnings and errors, alike ones counted once: ids and paths differ, the story does not.
            var kinds = instance.Output.Split('\n')
                .Where(line => line.StartsWith("warn:", StringComparison.Ordinal) || line.StartsWith("fail:", StringComparison.Ordinal))
                .Select(line => Ids().Replace(line.Length > 500 ? line[..500] : line, "…"))
                .GroupBy(line => line)
                .Select(g => $"{g.Count()} × {g.Key}")
                .ToList();
            TestContext.Progress.WriteLine($"--- API instance {i}: {kinds.Count} kinds of warnings and errors");
            TestContext.Progress.WriteLine(string.Join('\n', kinds.Take(20)));
        }
    }

    [GeneratedRegex("[0-9a-f]{10,}|:[0-9]+\\b")]
    private static partial Regex Ids();

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
            await _database.DisposeAsync();
        }
    }

    protected static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {limit.TotalSeconds:0} s waiting for {what}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A batch added through the API (first instance), which must succeed.</summary>
    protected async Task<string> AddStockAsync(string sku, int quantity, string? eta = null)
    {
        var reference = Unique.BatchRef();
        var answer = await Ask.AddBatchAsync(Api.Client, reference, sku, quantity, eta);
        answer.Status.Should().Be((int)HttpStatusCode.Created, answer.ToString());
        return reference;
    }

    /// <summary>An allocation through the API (first instance), which must succeed.</summary>
    protected async Task<string> AllocateAsync(string sku, int quantity = 1)
    {
        var orderId = Unique.OrderId();
        var answer = await Ask.AllocateAsync(Api.Client, orderId, sku, quantity);
        answer.Status.Should().Be((int)HttpStatusCode.Created, answer.ToString());
        return orderId;
    }
}
