using Allocation.Tests.Support;
using Npgsql;

namespace Allocation.Tests.EndToEnd.ProductionFaults;

/// <summary>
/// Counts the cluster's client backends (what max_connections limits) every few milliseconds from
/// one session of its own, which is counted too, and keeps the peak.
/// </summary>
internal sealed class ConnectionSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly NpgsqlConnection _connection;
    private Task _sampling = Task.CompletedTask;

    private ConnectionSampler(NpgsqlConnection connection) => _connection = connection;

    public long Peak { get; private set; }

    public int Samples { get; private set; }

    public static async Task<ConnectionSampler> StartAsync(PrivatePostgres cluster)
    {
        var connection = new NpgsqlConnection(cluster.AdminConnectionString);
        await connection.OpenAsync();
        var sampler = new ConnectionSampler(connection);
        sampler._sampling = sampler.SampleAsync();
        return sampler;
    }

    /// <summary>Stops sampling; returns the peak.</summary>
    public async Task<long> StopAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        return Peak;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _connection.DisposeAsync();
        _stop.Dispose();
    }

    private async Task SampleAsync()
    {
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'", _connection);
        while (!_stop.IsCancellationRequested)
        {
            var now = (long)(await count.ExecuteScalarAsync(CancellationToken.None))!;
            Peak = Math.Max(Peak, now);
            Samples++;
            try
            {
                await Task.Delay(10, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
