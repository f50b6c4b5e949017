using Microsoft.Extensions.Options;

namespace Allocation.Application.Common;

/// <summary>
/// Lets a bounded number of writes of one SKU run at once inside this instance and queues the rest
/// in memory, so that a hot SKU does not send a stampede of doomed optimistic writers (each holding
/// a pooled connection) to the database. Other instances are still kept honest by the version check.
/// </summary>
public sealed class SkuWriteGate(IOptions<ConflictRetryOptions> options)
{
    private readonly int _writersPerSku = Math.Max(1, options.Value.WritersPerSku);
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);

    /// <summary>Waits for a turn to write the SKU.</summary>
    /// <returns>The turn, to dispose when the write is over; null when none came within <paramref name="wait"/>.</returns>
    public async Task<IDisposable?> EnterAsync(string sku, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sku);
        Lane lane;
        lock (_lanes)
        {
            if (!_lanes.TryGetValue(sku, out lane!))
            {
                _lanes[sku] = lane = new Lane(_writersPerSku);
            }

            lane.Users++;
        }

        var entered = false;
        try
        {
            entered = await lane.Turns.WaitAsync(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, cancellationToken);
        }
        finally
        {
            if (!entered)
            {
                Leave(sku, lane, released: false);
            }
        }

        return entered ? new Turn(this, sku, lane) : null;
    }

    /// <summary>SKUs with a write running or waiting: empty when the service is idle (nothing leaks).</summary>
    internal int ActiveSkus
    {
        get
        {
            lock (_lanes)
            {
                return _lanes.Count;
            }
        }
    }

    private void Leave(string sku, Lane lane, bool released)
    {
        if (released)
        {
            lane.Turns.Release();
        }

        lock (_lanes)
        {
            if (--lane.Users == 0)
            {
                _lanes.Remove(sku);
                lane.Turns.Dispose();
            }
        }
    }

    private sealed class Lane(int writers)
    {
        public SemaphoreSlim Turns { get; } = new(writers, writers);

        /// <summary>Writers holding or waiting for a turn; guarded by the gate's lock.</summary>
        public int Users { get; set; }
    }

    private sealed class Turn(SkuWriteGate gate, string sku, Lane lane) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                gate.Leave(sku, lane, released: true);
            }
        }
    }
}
