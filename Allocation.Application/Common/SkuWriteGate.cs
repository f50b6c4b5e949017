using System.Diagnostics;
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
    private readonly TimeSpan _stuckAfter = options.Value.StuckWriteAfter;
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);

    /// <summary>When any write last had an answer from the database (a Stopwatch timestamp).</summary>
    private long _lastDatabaseAnswer = Stopwatch.GetTimestamp();

    /// <summary>When a write last found no writable primary (a Stopwatch timestamp; 0: never).</summary>
    private long _lastUnavailable;

    /// <summary>
    /// The last word from the database was "no writable primary": the writes ahead in the queues are
    /// waiting out a switchover or failover, not contending, so queued writes may wait as long.
    /// </summary>
    internal bool WaitingForDatabase => Interlocked.Read(ref _lastUnavailable) > Interlocked.Read(ref _lastDatabaseAnswer);

    /// <summary>
    /// Waits for a turn to write the SKU. When none comes, <see cref="ConflictRetry"/> asks
    /// <see cref="NoTurn"/> whether that was contention or a database that is not answering.
    /// </summary>
    /// <returns>
    /// The turn: report each answer from the database on it, and dispose it when the write is over;
    /// null when none came within <paramref name="wait"/>.
    /// </returns>
    public async Task<ITurn?> TryEnterAsync(string sku, TimeSpan wait, CancellationToken cancellationToken)
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

        if (entered)
        {
            Progress(lane);
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

    /// <summary>
    /// Why no turn came. Waiting out a failover: unavailable. Stuck, not busy, when no write of any SKU
    /// has had an answer from the database for a while (the database as a whole is not answering), or
    /// when the write holding this SKU's turn has had none for as long. Otherwise the SKU is contended.
    /// </summary>
    internal Exception NoTurn(string sku, TimeSpan wait, long since)
    {
        if (WaitingForDatabase)
        {
            return new StoreUnavailable($"Writes of sku {sku} waited {wait.TotalSeconds:0.#} s for a writable primary.");
        }

        var idle = Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastDatabaseAnswer));
        if (idle > _stuckAfter)
        {
            return new StoreUnavailable($"No write has had an answer from the database for {idle.TotalSeconds:0.#} s.");
        }

        // Other SKUs' writes may be answered while this SKU's are stuck at the database (a COMMIT waiting
        // for a lost synchronous standby, a row lock held by one that is): a lane that stood still for
        // longer than a healthy write takes while this one waited was stuck, not contended.
        return StalledSince(sku, since)
            ? new StoreUnavailable($"The writes of sku {sku} ahead of this one waited for the database; this one waited {wait.TotalSeconds:0.#} s.")
            : new ConcurrencyConflict($"Other writes of sku {sku} kept this one queued for {wait.TotalSeconds:0.###} s.");
    }

    /// <summary>
    /// The SKU's writes stood still for longer than a healthy write takes at some point since
    /// <paramref name="since"/> (a Stopwatch timestamp), or stand still now: whoever waited then was
    /// waiting for the database, not for other writers.
    /// </summary>
    internal bool StalledSince(string sku, long since)
    {
        lock (_lanes)
        {
            return _lanes.TryGetValue(sku, out var lane)
                && (Interlocked.Read(ref lane.LastStall) >= since
                    || Stopwatch.GetElapsedTime(Interlocked.Read(ref lane.LastProgress)) > _stuckAfter);
        }
    }

    /// <summary>A turn was taken or given back, or its holder had an answer: records a stall that this ends.</summary>
    private void Progress(Lane lane)
    {
        var now = Stopwatch.GetTimestamp();
        var previous = Interlocked.Exchange(ref lane.LastProgress, now);
        if (Stopwatch.GetElapsedTime(previous, now) > _stuckAfter)
        {
            Interlocked.Exchange(ref lane.LastStall, now);
        }
    }

    private void Leave(string sku, Lane lane, bool released)
    {
        if (released)
        {
            Progress(lane);
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
        /// <summary>When a turn was last taken or given back, or its holder last had an answer (a Stopwatch timestamp).</summary>
        public long LastProgress = Stopwatch.GetTimestamp();

        /// <summary>When the lane last moved after standing still for longer than a healthy write takes (0: never).</summary>
        public long LastStall;

        public SemaphoreSlim Turns { get; } = new(writers, writers);

        /// <summary>Writers holding or waiting for a turn; guarded by the gate's lock.</summary>
        public int Users { get; set; }

    }

    /// <summary>A write's turn at its SKU.</summary>
    public interface ITurn : IDisposable
    {
        /// <summary>
        /// The database answered this write (committed it, refused it, or reported a conflict): it is
        /// busy, not stuck.
        /// </summary>
        void DatabaseAnswered();

        /// <summary>The database answered this write that no writable primary is there (yet).</summary>
        void DatabaseUnavailable();
    }

    private sealed class Turn(SkuWriteGate gate, string sku, Lane lane) : ITurn
    {
        private int _disposed;

        public void DatabaseAnswered()
        {
            Interlocked.Exchange(ref gate._lastDatabaseAnswer, Stopwatch.GetTimestamp());
            gate.Progress(lane);
        }

        public void DatabaseUnavailable() => Interlocked.Exchange(ref gate._lastUnavailable, Stopwatch.GetTimestamp());

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                gate.Leave(sku, lane, released: true);
            }
        }
    }
}
